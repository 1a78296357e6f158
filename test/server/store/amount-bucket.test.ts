import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { amountBucket } from "../../../server/store/amount-bucket.js";

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });

describe("amountBucket", () => {
  // The amount index's range is bounded by the buckets of a query's bounds: that finds every
  // amount in the range only if a larger amount never has a smaller bucket.
  it("never gives a larger amount a smaller bucket", () => {
    fc.assert(
      fc.property(int64, int64, (a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        expect(amountBucket(low)).toBeLessThanOrEqual(amountBucket(high));
      }),
    );
  });

  it("puts amounts up to 0 in bucket 0 and splits each power of two in four", () => {
    expect(amountBucket(-5n)).toBe(0);
    expect(amountBucket(0n)).toBe(0);
    expect([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n].map(amountBucket)).toEqual([1, 5, 7, 9, 10, 11, 12, 13]);
    expect(amountBucket(2n ** 63n - 1n)).toBe(252);
  });
});
