// The SQLite store indexes a payment's id and lower-cased e-mail by a 53-bit hash of the text
// (sqlite-migrations.ts, version 4) instead of the text itself: an index entry shrinks from the
// text's 20-40 bytes to 8, so the indexes that take rows in random order stay in the page cache at a
// million payments, and a transaction dirties fewer pages. Equal hashes do not mean equal texts:
// every lookup compares the text too. The writer thread (sqlite-writer-thread.ts), this thread's
// queries and the SQL function key_hash (registered by the migrations) all call this one function.

/**
 * The key of `text` in the id and e-mail indexes: cyrb53 (a public-domain 53-bit string hash by
 * bryc) over the UTF-16 code units, a safe integer, the same in every thread.
 */
export function keyHash(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
