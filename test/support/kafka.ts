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

export async function createTopics(bootstrap: string, topics: string[], partitions = 3): Promise<void> {
  const admin = client(bootstrap).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: partitions })) });
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
