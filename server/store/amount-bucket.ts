// The SQLite store's amount index is ordered by a coarse bucket of amount_minor, then by seq
// (sqlite-migrations.ts, version 4): ordered by the amount itself, every stored payment went to a
// random place of the index, and with the view's transactions of a few hundred rows each row
// dirtied a page of its own (about 8 us of the writer's CPU per row at 400k rows). Ordered by
// bucket and seq, a row is appended to its bucket's end: a few dozen pages take every insert. A
// range of amounts reads the buckets it spans and filters them by amount_minor, which the index
// also holds, so counting stays exact and never reads the table. The writer thread
// (sqlite-writer-thread.ts) and this thread's queries and migrations call this same function.

/**
 * The bucket of an amount in minor units: four buckets per power of two (by the two bits below the
 * highest one), monotonic in `minor`; every amount up to 0 is bucket 0, the largest int64 bucket 252.
 */
export function amountBucket(minor: bigint): number {
  if (minor <= 0n) return 0;
  const bits = minor.toString(2).length;
  const top = bits >= 3 ? Number(minor >> BigInt(bits - 3)) : Number(minor) << (3 - bits);
  return 1 + (bits - 1) * 4 + (top - 4);
}
