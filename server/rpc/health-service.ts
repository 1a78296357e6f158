// gRPC's standard health protocol (grpc.health.v1), which Kubernetes gRPC probes, load balancers
// and grpc-health-probe speak. Semantics: https://github.com/grpc/grpc/blob/master/doc/health-checking.md
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";

export type ServingStatus = "SERVING" | "NOT_SERVING";

/** The spec's cap on List: above it the answer is RESOURCE_EXHAUSTED rather than a huge message. */
const listLimit = 100;

/**
 * The serving status of each service pa reports on, keyed by fully-qualified service name; the
 * key "" stands for the whole server. A service nobody has set is unknown, not "not serving":
 * Check answers NOT_FOUND for it and Watch answers SERVICE_UNKNOWN, as the protocol asks.
 */
export class HealthStatus {
  readonly #statuses = new Map<string, ServingStatus>();
  // One callback per open watch, told which service changed; a watch removes its own on exit.
  readonly #listeners = new Set<(service: string) => void>();

  set(service: string, status: ServingStatus): void {
    if (this.#statuses.get(service) === status) {
      return;
    }
    this.#statuses.set(service, status);
    for (const listener of this.#listeners) {
      listener(service);
    }
  }

  /** The service's status, or undefined when it has never been set. */
  get(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  /** Every known service with its status, "" included when set. */
  entries(): IterableIterator<[string, ServingStatus]> {
    return this.#statuses.entries();
  }

  /**
   * The service's status now (undefined while unknown), then again each time it changes, until
   * signal aborts. A slow reader is not sent a backlog: when several changes land between two
   * reads it gets the latest status once, which is what a health watcher acts on. Changes that
   * end where they started are not reported at all.
   *
   * The signal is what ends a watch that is waiting for a change; returning from the iterator
   * alone cannot interrupt that wait.
   */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus | undefined, void> {
    if (signal.aborted) {
      return;
    }
    let changed = false;
    let wake: (() => void) | undefined;
    const listener = (name: string) => {
      if (name === service) {
        changed = true;
        wake?.();
      }
    };
    const onAbort = () => wake?.();
    this.#listeners.add(listener);
    signal.addEventListener("abort", onAbort);
    try {
      let last = this.get(service);
      yield last;
      while (!signal.aborted) {
        if (!changed) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
          continue;
        }
        changed = false;
        const current = this.get(service);
        if (current !== last) {
          last = current;
          yield current;
        }
      }
    } finally {
      this.#listeners.delete(listener);
      signal.removeEventListener("abort", onAbort);
    }
  }
}

/** Serves grpc.health.v1.Health (Check, Watch and List) from health. */
export function registerHealth(router: ConnectRouter, health: HealthStatus): void {
  router.service(Health, {
    check(request) {
      const status = health.get(request.service);
      if (status === undefined) {
        throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
      }
      return { status: toProto(status) };
    },
    async *watch(request, context) {
      for await (const status of health.watch(request.service, context.signal)) {
        yield { status: toProto(status) };
      }
    },
    list() {
      const statuses: Record<string, { status: HealthCheckResponse_ServingStatus }> = {};
      let count = 0;
      for (const [service, status] of health.entries()) {
        if (++count > listLimit) {
          throw new ConnectError(`more than ${listLimit} services`, Code.ResourceExhausted);
        }
        statuses[service] = { status: toProto(status) };
      }
      return { statuses };
    },
  });
}

function toProto(status: ServingStatus | undefined): HealthCheckResponse_ServingStatus {
  switch (status) {
    case "SERVING":
      return HealthCheckResponse_ServingStatus.SERVING;
    case "NOT_SERVING":
      return HealthCheckResponse_ServingStatus.NOT_SERVING;
    case undefined:
      return HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN;
  }
}
