// The guards of the processing path's dependencies, one each, shared by every topic: when the store
// is down it is down for all of them. The app reads their state for /readyz and gRPC health.
import type { Logger } from "../observability/logger.js";
import type { BreakerState } from "./dependency-breaker.js";
import { DependencyGuard, type ResilienceOptions } from "./dependency-guard.js";

export class ProcessingResilience {
  readonly store: DependencyGuard;
  readonly deadLetterTopic: DependencyGuard;

  constructor(options: ResilienceOptions, storeDescription: string, logger: Logger) {
    this.store = new DependencyGuard("store", `the payment store (${storeDescription})`, options, logger);
    this.deadLetterTopic = new DependencyGuard(
      "dlq",
      "the dead-letter topic (Kafka produce)",
      options,
      logger,
    );
  }

  get guards(): DependencyGuard[] {
    return [this.store, this.deadLetterTopic];
  }

  allClosed(): boolean {
    return this.guards.every((guard) => guard.state === "closed");
  }

  notReadyReasons(): string[] {
    return this.guards.map((guard) => guard.notReadyReason()).filter((r): r is string => r !== undefined);
  }

  onStateChange(listener: (dependency: string, state: BreakerState) => void): void {
    for (const guard of this.guards) guard.breaker.onStateChange((state) => listener(guard.name, state));
  }
}
