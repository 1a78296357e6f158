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
 * Writes a topic's cursors: base64url of the JSON `{"v":1,"t":topic,"p":[offsets]}`, the bytes
 * clients hold and any pa version decodes. It runs for every record streamed, so the part that
 * names the topic is encoded once: base64 turns every 3 bytes into 4 characters on their own, so
 * the body's first bytes up to a multiple of 3 encode to a fixed start, and each cursor encodes
 * only the rest (the 0-2 bytes left over, the offsets and the closing "]}") from a reused buffer.
 * One per feed or call: it owns that buffer.
 */
export class StreamCursorEncoder {
  private readonly head: string;
  private readonly carry: Buffer;
  private tail = Buffer.allocUnsafe(64);

  constructor(topic: string) {
    const start = Buffer.from(`{"v":1,"t":${JSON.stringify(topic)},"p":[`);
    const aligned = start.length - (start.length % 3);
    this.head = start.toString("base64url", 0, aligned);
    this.carry = Buffer.from(start.subarray(aligned));
  }

  encode(nextOffsets: readonly number[]): string {
    // Each offset takes at most 24 characters (JSON's text of a double), and a comma.
    const most = this.carry.length + nextOffsets.length * 25 + 2;
    if (this.tail.length < most) this.tail = Buffer.allocUnsafe(most * 2);
    const tail = this.tail;
    let at = this.carry.copy(tail, 0);
    for (let i = 0; i < nextOffsets.length; i++) {
      if (i > 0) tail[at++] = COMMA;
      at = writeOffset(tail, at, nextOffsets[i] as number);
    }
    tail[at++] = CLOSE_ARRAY;
    tail[at++] = CLOSE_OBJECT;
    return this.head + tail.toString("base64url", 0, at);
  }
}

const COMMA = 0x2c;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const ZERO = 0x30;

/** JSON.stringify's text of `offset` ("null" for what JSON cannot hold; the decoder refuses both). */
function writeOffset(buffer: Buffer, at: number, offset: number): number {
  if (!(Number.isSafeInteger(offset) && offset >= 0)) {
    return at + buffer.write(Number.isFinite(offset) ? `${offset}` : "null", at, "latin1");
  }
  let digits = 1;
  for (let rest = offset; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  let rest = offset;
  for (let i = at + digits - 1; i >= at; i--) {
    buffer[i] = ZERO + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return at + digits;
}

/** One cursor of `topic`; a feed that writes many keeps a StreamCursorEncoder. */
export function encodeStreamCursor(topic: string, nextOffsets: readonly number[]): string {
  return new StreamCursorEncoder(topic).encode(nextOffsets);
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
