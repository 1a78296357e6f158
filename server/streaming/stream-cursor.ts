// A stream cursor names a position in a whole topic: for every partition, the next offset the
// client has not been sent. Resuming from it therefore has no gap and no duplicate, whichever
// partition the last event came from, and across pa restarts (it holds Kafka offsets, not pa state).
export class InvalidStreamCursorError extends Error {
  override readonly name = "InvalidStreamCursorError";
}

interface CursorBody {
  v: 1;
  t: string;
  p: number[];
}

export function encodeStreamCursor(topic: string, nextOffsets: readonly number[]): string {
  const body: CursorBody = { v: 1, t: topic, p: [...nextOffsets] };
  return Buffer.from(JSON.stringify(body)).toString("base64url");
}

/** The next offset per partition; throws InvalidStreamCursorError for a cursor of another topic. */
export function decodeStreamCursor(cursor: string, topic: string): number[] {
  let body: Partial<CursorBody>;
  try {
    body = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Partial<CursorBody>;
  } catch {
    throw new InvalidStreamCursorError(
      "start_cursor is not a cursor pa issued; pass an event's cursor unchanged",
    );
  }
  if (
    body?.v !== 1 ||
    typeof body.t !== "string" ||
    !Array.isArray(body.p) ||
    !body.p.every((o) => Number.isSafeInteger(o) && o >= 0)
  ) {
    throw new InvalidStreamCursorError(
      "start_cursor is not a cursor pa issued; pass an event's cursor unchanged",
    );
  }
  if (body.t !== topic) {
    throw new InvalidStreamCursorError(`start_cursor belongs to topic "${body.t}", not "${topic}"`);
  }
  return body.p;
}
