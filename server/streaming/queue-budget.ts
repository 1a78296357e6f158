// What all subscriptions' queues hold together, in their unit: events (STREAM_QUEUE_EVENTS_TOTAL,
// the queues of Connect's streams) or frame bytes (STREAM_QUEUE_BYTES_TOTAL, native gRPC's). Each
// queue has its own bound (STREAM_BUFFER_EVENTS, STREAM_BUFFER_BYTES); this one keeps many
// half-full queues from adding up to more memory than pa should hold. A subscription without room
// reads on from Kafka (catch-up reader) rather than dropping anything.
export class QueueBudget {
  private used = 0;
  private readonly waiting = new Set<() => void>();

  constructor(readonly limit: number) {}

  /** Events (or bytes) that may still be queued, over all subscriptions. */
  get available(): number {
    return Math.max(0, this.limit - this.used);
  }

  get queued(): number {
    return this.used;
  }

  /** Counts queued events; may pass the limit by what a caller already fetched (one batch). */
  add(events: number): void {
    this.used += events;
  }

  /** Events left the queues (written to clients, or their subscription closed). */
  release(events: number): void {
    if (events <= 0) return;
    this.used = Math.max(0, this.used - events);
    if (this.waiting.size === 0 || this.available === 0) return;
    const woken = [...this.waiting];
    this.waiting.clear();
    for (const wake of woken) wake();
  }

  /** Resolves once there is room again (at once when there is). */
  whenAvailable(): Promise<void> {
    if (this.available > 0) return Promise.resolve();
    return new Promise((resolve) => this.waiting.add(resolve));
  }
}
