// The RecordSource contract against the real broker: the librdkafka clients the consumer factory
// builds (a pooled client of a group of its own, catch-up and view readers).
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { parseConfig } from "../../../server/config/config.js";
import { connectionConfig } from "../../../server/kafka/client-config.js";
import { ConsumerFactory } from "../../../server/kafka/consumer-factory.js";
import { ConsumerPool, kafkaRecordSource } from "../../../server/kafka/consumer-pool.js";
import { createLogger } from "../../../server/observability/logger.js";
import { createTopics, produce, uniqueTopic } from "../../support/kafka.js";
import { recordSourceContract } from "./record-source-contract.js";

const bootstrap = inject("kafkaBootstrap");

recordSourceContract("the Kafka cluster (librdkafka)", async () => {
  const config = parseConfig({ KAFKA_BROKERS: bootstrap, KAFKA_TOPIC: "" });
  const consumers = new ConsumerFactory(
    connectionConfig(config.kafka),
    `test-record-source-${randomBytes(4).toString("hex")}`,
  );
  const pool = new ConsumerPool(1, consumers, createLogger({ level: "silent", format: "json" }));
  await pool.connect();
  return {
    source: kafkaRecordSource(pool, consumers),
    createTopic: async (partitions) => {
      const topic = uniqueTopic("record-source");
      await createTopics(bootstrap, [topic], partitions);
      return topic;
    },
    append: (topic, records) => produce(bootstrap, topic, [...records]),
    close: () => pool.stop(),
  };
});
