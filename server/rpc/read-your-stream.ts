// consistent_with on GetPayment and ListPayments: a stream's cursor used as a consistency token.
// The call waits until pa's view (the store following the log) holds the cursor's topic up to it,
// bounded by the call's deadline, so a client never sees a payment as missing that it was just
// streamed. Under SHARE_PROCESSING, on partitions another instance processes, it waits for the
// group's committed offset instead (their owner commits only what it stored in the shared store),
// so it works on any instance for any partition. Where no view is known at all (no active feed of
// the topic here), a GetPayment polls the store for the payment instead.
import type { Access } from "../auth/access.js";
import type { Identity } from "../auth/identity.js";
import { decodeAnyStreamCursor } from "../streaming/stream-cursor.js";
import type { StreamHub, ViewWait } from "../streaming/stream-hub.js";

/** The longest a consistent_with call waits, whatever its deadline (none: this). */
const MAX_WAIT_MS = 60_000;
// How often GetPayment asks the store again for a payment whose view this instance does not keep.
const POLL_MS = 100;

/** The deadline (or MAX_WAIT_MS) passed before the view reached the cursor: DEADLINE_EXCEEDED. */
export class ConsistencyDeadlineError extends Error {
  override readonly name = "ConsistencyDeadlineError";
}

export interface ConsistencyWait {
  outcome: ViewWait;
  signal: AbortSignal;
  deadlineError: () => ConsistencyDeadlineError;
}

/**
 * Waits for the view to reach `cursor` (a PaymentEvent's cursor). Throws InvalidStreamCursorError
 * (a cursor pa did not issue), PermissionError (a topic the caller may not see),
 * ViewNotKeptError, ViewUnavailableError or ConsistencyDeadlineError.
 */
export async function awaitConsistency(
  hub: StreamHub,
  access: Access,
  identity: Identity,
  cursor: string,
  callSignal: AbortSignal,
): Promise<ConsistencyWait> {
  const { topic, positions } = decodeAnyStreamCursor(cursor, "consistent_with");
  access.requireTopic(identity, topic);
  const signal = AbortSignal.any([callSignal, AbortSignal.timeout(MAX_WAIT_MS)]);
  const deadlineError = () =>
    new ConsistencyDeadlineError(
      `the store had not reached consistent_with in topic "${topic}" (offsets [${positions.join(",")}]) before the call's deadline (at most ${MAX_WAIT_MS / 1000} s): the view lags behind the stream; retry with a longer deadline, or read without consistent_with`,
    );
  try {
    return { outcome: await hub.awaitView(topic, positions, signal), signal, deadlineError };
  } catch (error) {
    if (signal.aborted) throw deadlineError();
    throw error;
  }
}

/** Polls `read` until it finds something or the wait's signal ends (then ConsistencyDeadlineError). */
export async function pollUntilFound<T>(
  wait: ConsistencyWait,
  read: () => Promise<T | undefined>,
): Promise<T> {
  for (;;) {
    const found = await read();
    if (found !== undefined) return found;
    if (wait.signal.aborted) throw wait.deadlineError();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, POLL_MS);
      function done() {
        clearTimeout(timer);
        wait.signal.removeEventListener("abort", done);
        resolve();
      }
      wait.signal.addEventListener("abort", done, { once: true });
    });
  }
}
