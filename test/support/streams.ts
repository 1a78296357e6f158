import { ConnectError } from "@connectrpc/connect";
// Reading from streams in tests without hanging: every wait has a deadline.
import type { PaymentEvent } from "../../gen/payment/payment_pb.js";

/** Collects events from a stream until `count` arrived (or `until` says stop), then cancels it. */
export async function collect(
  open: (signal: AbortSignal) => AsyncIterable<PaymentEvent>,
  count: number,
  timeoutMs = 20_000,
): Promise<PaymentEvent[]> {
  const controller = new AbortController();
  const events: PaymentEvent[] = [];
  const timer = setTimeout(() => controller.abort(new Error("timeout")), timeoutMs);
  try {
    for await (const event of open(controller.signal)) {
      events.push(event);
      if (events.length >= count) break;
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
    throw new Error(`stream gave ${events.length} of ${count} events within ${timeoutMs} ms`);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

/** An open stream whose events accumulate in `events`, for tests that act while it runs. */
export function openStream(open: (signal: AbortSignal) => AsyncIterable<PaymentEvent>): {
  events: PaymentEvent[];
  done: Promise<unknown>;
  close(): void;
  waitFor(count: number, timeoutMs?: number): Promise<void>;
} {
  const controller = new AbortController();
  const events: PaymentEvent[] = [];
  const done = (async () => {
    for await (const event of open(controller.signal)) events.push(event);
  })().catch((error: unknown) => error);
  return {
    events,
    done,
    close: () => controller.abort(),
    waitFor: (count, timeoutMs = 20_000) =>
      waitUntil(
        () => events.length >= count,
        timeoutMs,
        () => `stream has ${events.length} of ${count} events`,
      ),
  };
}

export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  describe: () => string = () => "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The error a stream ends with; fails the test if the stream yields or ends cleanly instead. */
export async function streamFailure(stream: AsyncIterable<unknown>): Promise<ConnectError> {
  try {
    for await (const _ of stream) break;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the stream to fail");
}
