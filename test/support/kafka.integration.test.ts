import { KafkaJS } from "@confluentinc/kafka-javascript";
import { describe, expect, inject, it } from "vitest";
import { createTopics, produce, uniqueTopic } from "./kafka.js";

// Proves the harness itself: the global setup gave us a real broker, and the helpers create topics
// with the PoC's partition count and round-trip records through it.
describe("the local Kafka broker used by integration tests", () => {
  const bootstrap = inject("kafkaBootstrap");

  it("creates a 3-partition topic and round-trips records through it", async () => {
    const topic = uniqueTopic("harness");
    await createTopics(bootstrap, [topic]);
    await produce(bootstrap, topic, [
      { key: "pay_1", value: "one", partition: 0 },
      { key: "pay_2", value: "two", partition: 2 },
    ]);

    const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.ERROR } });
    const admin = kafka.admin();
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.disconnect();
    expect(metadata[0]?.partitions).toHaveLength(3);

    const consumer = kafka.consumer({
      kafkaJS: { groupId: `${topic}.reader`, fromBeginning: true },
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only saw ${seen.join(",")}`)), 30_000);
      consumer
        .run({
          eachMessage: async ({ message, partition }) => {
            seen.push(`${message.key?.toString()}@${partition}=${message.value?.toString()}`);
            if (seen.length === 2) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    expect(seen.sort()).toEqual(["pay_1@0=one", "pay_2@2=two"]);
  });
});
