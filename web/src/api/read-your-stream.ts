// Reading what the live stream just showed. pa streams a payment before its store (a view that
// follows the log) has it, so a plain GetPayment right after the event may answer NOT_FOUND. With
// the event's cursor as `consistent_with`, pa first waits until its store holds the stream up to
// that event, for as long as the call's deadline allows.
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * How long the detail panel lets pa wait for its store: far beyond the milliseconds it usually
 * lags, short enough that a person is told why rather than left looking at "loading".
 */
export const READ_YOUR_STREAM_MS = 5000;

/** Request fields and call options for reading at least up to `cursor` (none: a plain read). */
export function readYourStream(cursor: string | undefined): {
  fields: { consistentWith?: string };
  timeoutMs?: number;
} {
  return cursor ? { fields: { consistentWith: cursor }, timeoutMs: READ_YOUR_STREAM_MS } : { fields: {} };
}

/**
 * What a failed read as of an event means, when it is not an error: `not-stored-yet`, the store had
 * not reached the cursor before the deadline; `not-kept`, the topic is streamed read-only and pa
 * stores none of it (FAILED_PRECONDITION).
 */
export function storeAnswer(
  error: unknown,
  cursor: string | undefined,
): "not-stored-yet" | "not-kept" | undefined {
  if (!cursor) return undefined;
  const code = ConnectError.from(error).code;
  if (code === Code.DeadlineExceeded) return "not-stored-yet";
  if (code === Code.FailedPrecondition) return "not-kept";
  return undefined;
}
