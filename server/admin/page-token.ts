// ListDeadLetters' opaque page token: the source position of the last entry a page returned,
// bound to the topic and error filter it was issued for, so that a token pasted into another
// query is refused instead of silently paging something else.
import type { RecordPosition } from "./dead-letter-record.js";

export class InvalidPageTokenError extends Error {
  override readonly name = "InvalidPageTokenError";
}

interface TokenBody {
  v: 1;
  topic: string;
  errors: string[];
  after: RecordPosition;
}

export function encodePageToken(topic: string, errors: readonly string[], after: RecordPosition): string {
  const body: TokenBody = { v: 1, topic, errors: [...errors].sort(), after };
  return Buffer.from(JSON.stringify(body)).toString("base64url");
}

/** The position after which the next page starts; throws InvalidPageTokenError with what to fix. */
export function decodePageToken(token: string, topic: string, errors: readonly string[]): RecordPosition {
  let body: Partial<TokenBody>;
  try {
    body = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Partial<TokenBody>;
  } catch {
    throw new InvalidPageTokenError(
      "page_token is not a token pa issued: pass next_page_token from the previous page unchanged",
    );
  }
  const after = body?.after;
  if (
    body?.v !== 1 ||
    !Array.isArray(body.errors) ||
    !body.errors.every((error) => typeof error === "string") ||
    !after ||
    !Number.isSafeInteger(after.partition) ||
    !Number.isSafeInteger(after.offset)
  ) {
    throw new InvalidPageTokenError(
      "page_token is not a token pa issued: pass next_page_token from the previous page unchanged",
    );
  }
  if (body.topic !== topic || body.errors.join(",") !== [...errors].sort().join(",")) {
    throw new InvalidPageTokenError(
      "page_token belongs to another query: repeat the topic and errors of the request that returned it, or start over without a token",
    );
  }
  return { partition: after.partition, offset: after.offset };
}
