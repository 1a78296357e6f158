import type { MessageHeader } from "@confluentinc/kafka-javascript";
import { describe, expect, it } from "vitest";
import {
  DEAD_LETTER_HEADERS,
  deadLetterEnvelope,
  deadLetterMessage,
  headerText,
  producerHeaders,
  redriveCountOf,
} from "../../../server/kafka/dead-letter-producer.js";

const letter = {
  topic: "orders",
  partition: 1,
  offset: 12,
  key: Buffer.from("pay_1"),
  value: Buffer.from("nope"),
  error: "invalid_json",
  reason: "value is not JSON",
  retryCount: 0,
};

describe("dead-letter envelope and headers", () => {
  it("keeps the PoC's fields and adds reason and redrive_count", () => {
    expect(JSON.parse(deadLetterEnvelope(letter, 1_705_123_456_789))).toEqual({
      original_topic: "orders",
      partition: 1,
      offset: 12,
      key: "pay_1",
      value: "nope",
      error: "invalid_json",
      reason: "value is not JSON",
      retry_count: 0,
      redrive_count: 0,
      timestamp: 1_705_123_456,
    });
  });

  it("takes redrive_count from the source's pa-redrive-count header", () => {
    const sourceHeaders = [{ "pa-redrive-count": Buffer.from("2") }];
    expect(JSON.parse(deadLetterEnvelope({ ...letter, sourceHeaders }, 0)).redrive_count).toBe(2);
    expect(redriveCountOf([{ "pa-redrive-count": "x" }])).toBe(0);
    expect(redriveCountOf([{ "pa-redrive-count": "-3" }])).toBe(0);
    expect(redriveCountOf(undefined)).toBe(0);
  });

  it("copies the source's headers except those pa sets, keeping repeated names", () => {
    const source: MessageHeader[] = [
      { "trace-id": "a" },
      { "trace-id": "b" },
      { "pa-dlq-error": "stale" },
      { "pa-redrive-count": "1" },
      { "pa-redriven-from": "orders.dlq/1/3" },
    ];
    expect(producerHeaders(source, DEAD_LETTER_HEADERS)).toEqual({
      "trace-id": ["a", "b"],
      "pa-redriven-from": ["orders.dlq/1/3"],
    });
    expect(headerText(source, "trace-id")).toBe("b");
  });

  it("gives every dead letter a stable id from its source position, never the source's own", () => {
    const message = deadLetterMessage({ ...letter, sourceHeaders: [{ "pa-dlq-id": "forged/0/0" }] }, 3, 0);
    expect(message.headers["pa-dlq-id"]).toBe("orders/1/12");
    expect(message).toMatchObject({ partition: 1, key: Buffer.from("pay_1") });
    expect(deadLetterMessage(letter, 3, 5_000).headers["pa-dlq-id"]).toBe(message.headers["pa-dlq-id"]);
  });
});
