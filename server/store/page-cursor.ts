// ListPayments' opaque page cursor: the first-seen sequence number of the last payment of a page.
// That number never changes once a payment is stored, so the next page (every payment first seen
// before it) has no duplicate and no gap however many payments arrive or change between pages.
import { InvalidCursorError } from "./payment-store.js";

const prefix = "s1.";

export function encodePageCursor(sequence: number): string {
  return Buffer.from(`${prefix}${sequence}`).toString("base64url");
}

/** The sequence a cursor from `encodePageCursor` carries; InvalidCursorError for anything else. */
export function decodePageCursor(cursor: string): number {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const digits = text.startsWith(prefix) ? text.slice(prefix.length) : "";
  const sequence = /^[0-9]{1,16}$/.test(digits) ? Number(digits) : Number.NaN;
  // base64url decoding ignores stray characters, so a round trip proves the text was ours.
  if (!Number.isSafeInteger(sequence) || encodePageCursor(sequence) !== cursor) {
    throw new InvalidCursorError("cursor is not one this server issued; pass a next_cursor unchanged");
  }
  return sequence;
}
