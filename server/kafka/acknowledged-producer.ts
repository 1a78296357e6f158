// The producer of records that must not be lost or doubled: dead letters (the only copy of what
// went wrong) and redriven records. Every replica acknowledges a record (acks=-1), and the
// idempotent producer writes it once and in order, whatever librdkafka retries.
import { KafkaJS } from "@confluentinc/kafka-javascript";
import type { LibrdkafkaConfig } from "./client-config.js";

/** Not connected: the caller connects it and disconnects it. */
export function acknowledgedProducer(settings: LibrdkafkaConfig): KafkaJS.Producer {
  return new KafkaJS.Kafka({
    ...settings,
    kafkaJS: { logLevel: KafkaJS.logLevel.NOTHING },
  } as never).producer({
    acks: -1,
    "enable.idempotence": true,
    "linger.ms": 5,
  } as never);
}
