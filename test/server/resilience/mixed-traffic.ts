// Mixed traffic for the fault tests: valid payments with poison records among them, produced
// continuously so that a fault lands mid-stream, plus the checks every fault test makes.
import { KafkaJS } from "@confluentinc/kafka-javascript";
import { expect } from "vitest";
import type { PaymentEvent } from "../../../gen/payment/payment_pb.js";
import { createPaymentGenerator } from "../../../server/demo/payment-generator.js";
import type { TestMessage } from "../../support/kafka.js";
import { readTopicUntil } from "./kafka-records.js";

export class MixedTraffic {
  readonly validIds = new Set<string>();
  readonly invalidKeys = new Set<string>();
  private readonly generator = createPaymentGenerator({ seed: 11 });
  private produced = 0;

  /** `count` records, one in `poisonEvery` invalid (the generator's kinds in turn). */
  batch(count: number, poisonEvery = 10): TestMessage[] {
    const messages: TestMessage[] = [];
    for (let i = 0; i < count; i++) {
      this.produced++;
      if (this.produced % poisonEvery === 0) {
        const record = this.generator.invalid();
        this.invalidKeys.add(record.key);
        messages.push(record);
      } else {
        const record = this.generator.valid();
        this.validIds.add(record.key);
        messages.push(record);
      }
    }
    return messages;
  }
}

export class TestProducer {
  private readonly producer: KafkaJS.Producer;

  constructor(bootstrap: string) {
    this.producer = new KafkaJS.Kafka({
      kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.NOTHING },
    }).producer({ "linger.ms": 5 } as never);
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(topic: string, messages: TestMessage[]): Promise<void> {
    await this.producer.send({ topic, messages });
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}

/** Every valid payment exactly once, and per partition in offset order. */
export function expectExactlyOnceInOrder(events: PaymentEvent[], validIds: Set<string>): void {
  const ids = events.map((event) => event.payment?.id ?? "");
  const duplicates = ids.length - new Set(ids).size;
  expect(duplicates, "duplicate events").toBe(0);
  const missing = [...validIds].filter((id) => !ids.includes(id));
  expect(missing.length, `missing e.g. ${missing.slice(0, 3).join(", ")}`).toBe(0);
  expect(ids.length).toBe(validIds.size);
  const lastOffset = new Map<number, bigint>();
  for (const event of events) {
    const previous = lastOffset.get(event.partition) ?? -1n;
    expect(event.offset > previous, `partition ${event.partition}: ${event.offset} after ${previous}`).toBe(
      true,
    );
    lastOffset.set(event.partition, event.offset);
  }
}

/** Every poison record dead-lettered (duplicates allowed) and no valid payment among the letters. */
export async function expectDeadLetters(
  bootstrap: string,
  topic: string,
  invalidKeys: Set<string>,
  validIds: Set<string>,
): Promise<void> {
  const letters = await readTopicUntil(
    bootstrap,
    `${topic}.dlq`,
    (records) => new Set(records.map((record) => record.key)).size >= invalidKeys.size,
    120_000,
  );
  const keys = new Set(letters.map((letter) => letter.key));
  expect(
    [...keys].filter((key) => validIds.has(key)),
    "valid payments in the DLQ",
  ).toEqual([]);
  expect(
    [...invalidKeys].filter((key) => !keys.has(key)),
    "poison records missing from the DLQ",
  ).toEqual([]);
}
