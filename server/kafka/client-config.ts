// librdkafka settings shared by every client pa creates, derived once from the validated config.
import type { Config } from "../config/config.js";

export type LibrdkafkaConfig = Record<string, string | number | boolean>;

/** Connection and security settings: what every consumer, producer and admin client shares. */
export function connectionConfig(kafka: Config["kafka"]): LibrdkafkaConfig {
  const settings: LibrdkafkaConfig = {
    "bootstrap.servers": kafka.brokers,
    "client.id": "pa",
    "security.protocol": kafka.security.protocol,
    // Latency over throughput per packet: events should not wait for Nagle.
    "socket.nagle.disable": true,
    "socket.keepalive.enable": true,
  };
  if (kafka.security.sasl) {
    settings["sasl.mechanisms"] = kafka.security.sasl.mechanism;
    settings["sasl.username"] = kafka.security.sasl.username;
    settings["sasl.password"] = kafka.security.sasl.password;
  }
  return settings;
}
