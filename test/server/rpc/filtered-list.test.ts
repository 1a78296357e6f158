// ListPayments with a CEL filter: pages of matching payments with no gap and no duplicate across
// next_cursor, and a row budget that stops a page early without losing its place.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PaymentSchema } from "../../../gen/payment/payment_pb.js";
import { compilePaymentFilter } from "../../../server/filtering/payment-filter.js";
import { listFiltered } from "../../../server/rpc/filtered-list.js";
import { MemoryPaymentStore } from "../../../server/store/memory-store.js";
import type { StoredPayment } from "../../../server/store/payment-store.js";

async function storeOf(count: number): Promise<MemoryPaymentStore> {
  const store = new MemoryPaymentStore({ maxPayments: 1000, maxAgeMs: 24 * 3600 * 1000 });
  await store.upsert(
    Array.from({ length: count }, (_, i) => ({
      payment: create(PaymentSchema, {
        id: `p${i}`,
        currency: "USD",
        amountMinor: BigInt(i),
        metadata: i % 5 === 0 ? {} : { channel: i % 3 === 0 ? "web" : "ios" },
      }),
      source: { topic: "t", partition: 0, offset: i, kafkaTimestampMs: 1 },
    })),
  );
  return store;
}

const expected = Array.from({ length: 100 }, (_, i) => i)
  .filter((i) => i % 5 !== 0 && i % 3 === 0)
  .map((i) => `p${i}`)
  .reverse();

describe("listFiltered", () => {
  const expression = compilePaymentFilter('payment.metadata["channel"] == "web"');
  const plain = (stored: StoredPayment) => stored.payment;

  it("pages through exactly the matching payments, counting the rows it failed on", async () => {
    const store = await storeOf(100);
    const seen: string[] = [];
    let cursor: string | undefined;
    let errors = 0;
    do {
      const page = await listFiltered(store, { limit: 4, ...(cursor ? { cursor } : {}) }, expression, plain);
      expect(page.payments.length === 4 || !page.nextCursor).toBe(true);
      expect(page.stoppedEarly).toBe(false);
      expect(page.totalCount).toBe(100);
      seen.push(...page.payments.map((s) => s.payment.id));
      errors += page.filterErrors;
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(expected);
    expect(errors).toBe(20);
  });

  it("stops a page when the row budget runs out and continues where it stopped", async () => {
    const store = await storeOf(100);
    const seen: string[] = [];
    let cursor: string | undefined;
    let early = 0;
    do {
      const page = await listFiltered(
        store,
        { limit: 10, ...(cursor ? { cursor } : {}) },
        expression,
        plain,
        7,
      );
      if (page.stoppedEarly) early++;
      seen.push(...page.payments.map((s) => s.payment.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(early).toBeGreaterThan(0);
    expect(seen).toEqual(expected);
  });
});
