// Helpers for integration tests that talk to the real broker. Every test makes its own uniquely
// named topics, so tests never see each other's data and need no clean-up between runs.
import { randomBytes } from "node:crypto";
import { KafkaJS } from "@confluentinc/kafka-javascript";

export interface TestMessage {
  key?: string | null;
  value: string | Buffer | null;
  partition?: number;
  headers?: Record<string, string>;
}

export function uniqueTopic(label: string): string {
  return `test.${label}.${Date.now().toString(36)}.${randomBytes(3).toString("hex")}`;
}

function client(bootstrap: string): KafkaJS.Kafka {
  return new KafkaJS.Kafka({ kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.ERROR } });
}

/**
 * Creates the topics and returns once every partition of each has a leader that answers with its
 * offsets: createTopics alone can return before that, and a subscription made at once was then
 * told the topic does not exist (or got Kafka's "unknown" offsets).
 */
export async function createTopics(bootstrap: string, topics: string[], partitions = 3): Promise<void> {
  const admin = client(bootstrap).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: partitions })) });
    const deadline = Date.now() + 15_000;
    for (const topic of topics) {
      for (;;) {
        const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
        const ready =
          offsets.length === partitions && offsets.every((p) => Number(p.low) >= 0 && Number(p.high) >= 0);
        if (ready) break;
        if (Date.now() > deadline)
          throw new Error(`topic ${topic} has no usable offsets 15 s after creation`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } finally {
    await admin.disconnect();
  }
}

export async function produce(bootstrap: string, topic: string, messages: TestMessage[]): Promise<void> {
  const producer = client(bootstrap).producer({ "linger.ms": 5 });
  await producer.connect();
  try {
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}
