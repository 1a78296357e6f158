import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PaymentSchema } from "../../../gen/payment/payment_pb.js";
import { decodePackedRows, encodePackedRows, type PackedRow } from "../../../server/store/packed-rows.js";
import type { StoredPayment } from "../../../server/store/payment-store.js";

function decodeAll(buffer: ArrayBuffer): PackedRow[] {
  const rows: PackedRow[] = [];
  const count = decodePackedRows(buffer, (row) => rows.push({ ...row }));
  expect(count).toBe(rows.length);
  return rows;
}

function expected({ payment, source }: StoredPayment): PackedRow {
  return {
    provider: payment.provider,
    status: payment.status,
    partition: source.partition,
    offset: source.offset,
    kafkaTimestampMs: source.kafkaTimestampMs,
    amount: payment.amount,
    amountMinor: payment.amountMinor,
    createdAt: payment.createdAt,
    processedAt: payment.processedAt,
    id: payment.id,
    topic: source.topic,
    currency: payment.currency,
    customerEmail: payment.customerEmail,
    metadata: JSON.stringify(payment.metadata),
  };
}

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
// Any UTF-16 text, lone surrogates included: they arrive as U+FFFD, as SQLite would store them.
const text = fc.string({ unit: "binary", maxLength: 40 });

const storedPayment = fc
  .record({
    id: text,
    topic: text,
    currency: text,
    customerEmail: text,
    metadata: fc.dictionary(text, text, { maxKeys: 4 }),
    provider: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    status: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    partition: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    offset: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    kafkaTimestampMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    amount: fc.double({ noNaN: true }),
    amountMinor: int64,
    createdAt: int64,
    processedAt: int64,
  })
  .map(
    (r): StoredPayment => ({
      payment: create(PaymentSchema, {
        id: r.id,
        provider: r.provider,
        status: r.status,
        amount: r.amount,
        amountMinor: r.amountMinor,
        currency: r.currency,
        customerEmail: r.customerEmail,
        createdAt: r.createdAt,
        processedAt: r.processedAt,
        metadata: r.metadata,
      }),
      source: {
        topic: r.topic,
        partition: r.partition,
        offset: r.offset,
        kafkaTimestampMs: r.kafkaTimestampMs,
      },
    }),
  );

const wellFormed = (value: string) => Buffer.from(value, "utf8").toString("utf8");

describe("packed rows", () => {
  it("an empty batch decodes to no rows", () => {
    expect(decodeAll(encodePackedRows([]))).toEqual([]);
  });

  it("decodes every field of every row as encoded, in order", () => {
    fc.assert(
      fc.property(fc.array(storedPayment, { maxLength: 20 }), (batch) => {
        const want = batch.map(expected).map((row) => ({
          ...row,
          id: wellFormed(row.id),
          topic: wellFormed(row.topic),
          currency: wellFormed(row.currency),
          customerEmail: wellFormed(row.customerEmail),
        }));
        expect(decodeAll(encodePackedRows(batch))).toEqual(want);
      }),
    );
  });

  it("keeps metadata as JSON that parses back to the same object, and -0 and extremes exactly", () => {
    const batch: StoredPayment[] = [
      {
        payment: create(PaymentSchema, {
          id: "pay_é🙂",
          amount: -0,
          amountMinor: -(2n ** 63n),
          createdAt: 2n ** 63n - 1n,
          metadata: { 'key with "quotes"': "line\nbreak", tenant: "t-1" },
        }),
        source: { topic: "t", partition: 7, offset: Number.MAX_SAFE_INTEGER, kafkaTimestampMs: 1 },
      },
    ];
    const [row] = decodeAll(encodePackedRows(batch));
    expect(Object.is(row?.amount, -0)).toBe(true);
    expect(row?.amountMinor).toBe(-(2n ** 63n));
    expect(row?.createdAt).toBe(2n ** 63n - 1n);
    expect(row?.offset).toBe(Number.MAX_SAFE_INTEGER);
    expect(row?.id).toBe("pay_é🙂");
    expect(JSON.parse(row?.metadata ?? "")).toEqual(batch[0]?.payment.metadata);
  });
});
