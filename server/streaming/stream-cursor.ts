// A stream cursor names a position in a whole topic: for every partition, the next offset the
// client has not been sent. Resuming from it therefore has no gap and no duplicate, whichever
// partition the last event came from, and across pa restarts (it holds Kafka offsets, not pa state).
//
// A cursor is checked twice before any consumption starts: decoded against the requested topic
// (a malformed or foreign cursor is the client's mistake), then against what Kafka holds now (a
// cursor past the end, or below what retention kept, cannot resume without a gap or a wait).
import type { PartitionOffsets } from "../kafka/topic-admin.js";

/** A cursor pa did not issue for this topic: INVALID_ARGUMENT. */
export class InvalidStreamCursorError extends Error {
  override readonly name = "InvalidStreamCursorError";
}

/** A cursor of this topic that Kafka cannot resume exactly (past the end, or deleted): OUT_OF_RANGE. */
export class StreamCursorOutOfRangeError extends Error {
  override readonly name = "StreamCursorOutOfRangeError";
}

interface CursorBody {
  v: 1;
  t: string;
  p: number[];
}

const START_INSTEAD = "start with start (STREAM_START_LATEST or STREAM_START_EARLIEST) or start_time instead";

/**
 * base64url of the JSON `{"v":1,"t":topic,"p":[offsets]}`. It runs for every record streamed, so
 * the JSON is written as text, not through an object and JSON.stringify: the same bytes (clients
 * hold these cursors, and any pa version decodes them), in about two thirds of the time.
 */
export function encodeStreamCursor(topic: string, nextOffsets: readonly number[]): string {
  let json = `{"v":1,"t":${JSON.stringify(topic)},"p":[`;
  for (let i = 0; i < nextOffsets.length; i++) {
    const offset = nextOffsets[i] as number;
    // JSON.stringify's number text, "null" for what JSON cannot hold (the decoder refuses both).
    const text = Number.isFinite(offset) ? `${offset}` : "null";
    json += i === 0 ? text : `,${text}`;
  }
  return Buffer.from(`${json}]}`).toString("base64url");
}

function isCursorBody(body: unknown): body is CursorBody {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  const { v, t, p } = body as Partial<Record<keyof CursorBody, unknown>>;
  return (
    v === 1 &&
    typeof t === "string" &&
    t !== "" &&
    Array.isArray(p) &&
    p.length > 0 &&
    p.every((offset) => Number.isSafeInteger(offset) && (offset as number) >= 0)
  );
}

/** The cursor's body when it is base64url JSON of pa's shape; undefined for anything else. */
function cursorBody(cursor: string) {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  return isCursorBody(body) ? body : undefined;
}

/**
 * The next offset per partition of a cursor issued for `topic`. Throws InvalidStreamCursorError
 * (and nothing else) for anything else: not base64url JSON, not pa's shape, another topic's.
 */
export function decodeStreamCursor(cursor: string, topic: string): number[] {
  const body = cursorBody(cursor);
  if (!body) {
    throw new InvalidStreamCursorError(
      `start_cursor is not a cursor pa issued: pass a PaymentEvent's cursor (or the pa-resume-cursor trailer) unchanged, or ${START_INSTEAD}`,
    );
  }
  if (body.t !== topic) {
    throw new InvalidStreamCursorError(
      `start_cursor belongs to topic "${body.t}", not "${topic}": resume "${body.t}" with it, or ${START_INSTEAD}`,
    );
  }
  return body.p;
}

/**
 * The topic and next offsets of any cursor pa issued (a consistency token names its own topic);
 * InvalidStreamCursorError, naming `field`, for anything else.
 */
export function decodeAnyStreamCursor(cursor: string, field: string): { topic: string; positions: number[] } {
  const body = cursorBody(cursor);
  if (!body) {
    throw new InvalidStreamCursorError(
      `${field} is not a cursor pa issued: pass a PaymentEvent's cursor (or a PaymentList's as_of) unchanged, or leave it empty`,
    );
  }
  return { topic: body.t, positions: body.p };
}

/**
 * Where a stream resumed from `positions` starts, per partition, given what Kafka holds now
 * (`marks`, indexed by partition). Partitions added since the cursor was issued start at their
 * beginning. With `allowFallback`, offsets Kafka no longer holds start at the oldest it has.
 */
export function resumeOffsets(
  topic: string,
  positions: readonly number[],
  marks: readonly PartitionOffsets[],
  allowFallback: boolean,
): number[] {
  // Kafka only ever adds partitions: a cursor with more is from another topic of this name.
  if (positions.length > marks.length) {
    throw new InvalidStreamCursorError(
      `start_cursor names ${positions.length} partitions but topic "${topic}" has ${marks.length}: it belongs to an earlier topic of that name (deleted and created again); ${START_INSTEAD}`,
    );
  }
  return marks.map(({ low, high }, partition) => {
    const position = positions[partition];
    if (position === undefined) return low;
    if (position > high) {
      throw new StreamCursorOutOfRangeError(
        `start_cursor is past the end of topic "${topic}" partition ${partition} (offset ${position}; the partition ends at ${high}): the topic was deleted and created again, or the cursor is from another cluster; ${START_INSTEAD}`,
      );
    }
    if (position < low) {
      if (allowFallback) return low;
      throw new StreamCursorOutOfRangeError(
        `Kafka no longer holds topic "${topic}" partition ${partition} from offset ${position} (its oldest record is ${low}; retention deleted ${low - position} records this stream has not seen): set allow_cursor_fallback to resume at the oldest record Kafka holds, or start with STREAM_START_EARLIEST`,
      );
    }
    return position;
  });
}
