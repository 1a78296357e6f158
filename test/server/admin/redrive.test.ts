import { describe, expect, it } from "vitest";
import type { DeadLetterEntry } from "../../../server/admin/dead-letter-index.js";
import { readDeadLetterRecord } from "../../../server/admin/dead-letter-record.js";
import { redriveMessage, redriveReceipt } from "../../../server/admin/redrive.js";

const entry: DeadLetterEntry = {
  id: "orders/2/41",
  source: { topic: "orders", partition: 2, offset: 41 },
  dlq: { partition: 2, offset: 7 },
  key: "pay_1",
  value: '{"id":"pay_1"}',
  error: "invalid_amount",
  reason: "amount ...",
  retryCount: 0,
  redriveCount: 1,
  deadLetteredAtMs: 1,
  rawKey: Buffer.from("pay_1"),
  headers: [
    { "trace-id": "abc" },
    { "trace-id": Buffer.from("def") },
    { "pa-dlq-error": "invalid_amount" },
    { "pa-original-offset": "41" },
    { "pa-redrive-count": "1" },
    { "pa-redriven-from": "orders.dlq/2/3" },
    { "pa-redriven-to": "orders/2/40" },
  ],
  copies: 1,
};

describe("redriveMessage", () => {
  it("restores key, value and the source's headers, and marks the redrive", () => {
    const message = redriveMessage("orders", entry, 3);
    expect(message.key?.toString()).toBe("pay_1");
    expect(message.value.toString()).toBe('{"id":"pay_1"}');
    expect(message.partition).toBe(2);
    expect(message.headers).toEqual({
      "trace-id": ["abc", Buffer.from("def")],
      "pa-redrive-count": "2",
      "pa-redriven-from": "orders.dlq/2/7",
    });
  });

  it("lets the key choose the partition when the original one is not there", () => {
    expect(redriveMessage("orders", entry, 2).partition).toBe(-1);
  });
});

describe("redriveReceipt", () => {
  it("is a copy of the letter, next to it in the DLQ, that reads back as saying where the record landed", () => {
    const receipt = redriveReceipt("orders", entry, { partition: 2, offset: 55 });
    expect(receipt.partition).toBe(2);
    expect(receipt.key?.toString()).toBe("pay_1");
    expect(receipt.headers["pa-redriven-to"]).toBe("orders/2/55");
    expect(receipt.headers["pa-dlq-error"]).toEqual(["invalid_amount"]);
    const read = readDeadLetterRecord("orders.dlq", {
      partition: 2,
      offset: 9,
      key: receipt.key,
      value: Buffer.from(receipt.value),
      headers: Object.entries(receipt.headers).flatMap(([name, values]) =>
        (Array.isArray(values) ? values : [values]).map((value) => ({ [name]: value as string | Buffer })),
      ),
    });
    expect(read).toMatchObject({
      source: entry.source,
      key: "pay_1",
      value: '{"id":"pay_1"}',
      error: "invalid_amount",
      redriveCount: 1,
      redrivenTo: { partition: 2, offset: 55 },
      redrivenFrom: { partition: 2, offset: 3 },
    });
  });
});
