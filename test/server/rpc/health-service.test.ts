import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import { HealthStatus, registerHealth, type ServingStatus } from "../../../server/rpc/health-service.js";

const { SERVING, NOT_SERVING, SERVICE_UNKNOWN } = HealthCheckResponse_ServingStatus;

describe("HealthStatus", () => {
  it("knows only the services it was told about", () => {
    const health = new HealthStatus();
    expect(health.get("")).toBeUndefined();
    health.set("", "SERVING");
    health.set("payment.PaymentService", "NOT_SERVING");
    expect(health.get("")).toBe("SERVING");
    expect(health.get("payment.PaymentService")).toBe("NOT_SERVING");
    expect([...health.entries()]).toEqual([
      ["", "SERVING"],
      ["payment.PaymentService", "NOT_SERVING"],
    ]);
  });

  it("watches: the current status first, then each change of that service only", async () => {
    const health = new HealthStatus();
    health.set("a", "SERVING");
    const abort = new AbortController();
    const watch = health.watch("a", abort.signal);
    expect(await watch.next()).toEqual({ done: false, value: "SERVING" });

    const next = watch.next();
    health.set("b", "NOT_SERVING");
    health.set("a", "SERVING");
    health.set("a", "NOT_SERVING");
    expect(await next).toEqual({ done: false, value: "NOT_SERVING" });
    abort.abort();
    expect(await watch.next()).toEqual({ done: true, value: undefined });
  });

  it("gives a slow watcher the latest status once, and nothing for a change undone before it reads", async () => {
    const health = new HealthStatus();
    health.set("a", "SERVING");
    const abort = new AbortController();
    const watch = health.watch("a", abort.signal);
    await watch.next();

    health.set("a", "NOT_SERVING");
    health.set("a", "SERVING");
    const pending = watch.next();
    const settled = await Promise.race([
      pending,
      new Promise((resolve) => setTimeout(resolve, 20, "waiting")),
    ]);
    expect(settled).toBe("waiting");

    health.set("a", "NOT_SERVING");
    expect(await pending).toEqual({ done: false, value: "NOT_SERVING" });
    abort.abort();
  });

  it("reports an unknown service as undefined and then its status once it is set", async () => {
    const health = new HealthStatus();
    const abort = new AbortController();
    const watch = health.watch("later", abort.signal);
    expect(await watch.next()).toEqual({ done: false, value: undefined });
    const next = watch.next();
    health.set("later", "SERVING");
    expect(await next).toEqual({ done: false, value: "SERVING" });
    abort.abort();
  });

  it("ends a watch waiting for a change when its signal aborts", async () => {
    const health = new HealthStatus();
    const abort = new AbortController();
    const watch = health.watch("", abort.signal);
    await watch.next();
    const waiting = watch.next();
    abort.abort();
    expect(await waiting).toEqual({ done: true, value: undefined });
  });

  it("yields nothing when the signal has already aborted", async () => {
    const health = new HealthStatus();
    health.set("", "SERVING");
    const values: (ServingStatus | undefined)[] = [];
    for await (const status of health.watch("", AbortSignal.abort())) {
      values.push(status);
    }
    expect(values).toEqual([]);
  });
});

/** Counts watches still open, to show that a cancelled Watch call leaves nothing behind. */
class CountingHealthStatus extends HealthStatus {
  open = 0;

  override async *watch(service: string, signal: AbortSignal) {
    this.open++;
    try {
      yield* super.watch(service, signal);
    } finally {
      this.open--;
    }
  }
}

function serve(health: HealthStatus) {
  const transport = createRouterTransport((router) => registerHealth(router, health));
  return createClient(Health, transport);
}

describe("grpc.health.v1.Health", () => {
  it("Check answers the status of the server and of a named service", async () => {
    const health = new HealthStatus();
    health.set("", "SERVING");
    health.set("payment.PaymentService", "NOT_SERVING");
    const client = serve(health);
    expect((await client.check({})).status).toBe(SERVING);
    expect((await client.check({ service: "payment.PaymentService" })).status).toBe(NOT_SERVING);
  });

  it("Check fails with NOT_FOUND for a service it does not know", async () => {
    const client = serve(new HealthStatus());
    const failure = await client.check({ service: "nope.Service" }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConnectError);
    expect((failure as ConnectError).code).toBe(Code.NotFound);
  });

  it("Watch streams the current status, then each change, and stops when the client cancels", async () => {
    const health = new CountingHealthStatus();
    health.set("", "SERVING");
    const client = serve(health);
    const abort = new AbortController();
    const stream = client.watch({}, { signal: abort.signal })[Symbol.asyncIterator]();

    expect((await stream.next()).value?.status).toBe(SERVING);
    health.set("", "NOT_SERVING");
    expect((await stream.next()).value?.status).toBe(NOT_SERVING);
    health.set("", "SERVING");
    expect((await stream.next()).value?.status).toBe(SERVING);

    // Ask for more, so that the server waits for a change: the wait only the signal can end.
    const waiting = stream.next();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(health.open).toBe(1);
    abort.abort();
    await expect(waiting).rejects.toMatchObject({ code: Code.Canceled });
    await vi.waitFor(() => expect(health.open).toBe(0));
  });

  it("Watch of an unknown service streams SERVICE_UNKNOWN and keeps watching", async () => {
    const health = new HealthStatus();
    const client = serve(health);
    const abort = new AbortController();
    const stream = client
      .watch({ service: "payment.PaymentService" }, { signal: abort.signal })
      [Symbol.asyncIterator]();

    expect((await stream.next()).value?.status).toBe(SERVICE_UNKNOWN);
    health.set("payment.PaymentService", "SERVING");
    expect((await stream.next()).value?.status).toBe(SERVING);
    abort.abort();
  });

  it("List answers every known service with its status", async () => {
    const health = new HealthStatus();
    health.set("", "SERVING");
    health.set("payment.PaymentService", "NOT_SERVING");
    const { statuses } = await serve(health).list({});
    expect(
      Object.fromEntries(Object.entries(statuses).map(([name, response]) => [name, response.status])),
    ).toEqual({ "": SERVING, "payment.PaymentService": NOT_SERVING });
  });

  it("List refuses with RESOURCE_EXHAUSTED above the protocol's 100 services", async () => {
    const health = new HealthStatus();
    for (let i = 0; i <= 100; i++) {
      health.set(`service${i}`, "SERVING");
    }
    await expect(serve(health).list({})).rejects.toMatchObject({ code: Code.ResourceExhausted });
  });
});
