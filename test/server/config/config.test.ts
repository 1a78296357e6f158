import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../../server/config/config.js";

describe("parseConfig", () => {
  it("keeps the PoC's variables and defaults", () => {
    const config = parseConfig({});
    expect(config.kafka.brokers).toBe("localhost:9092");
    expect(config.kafka.pinnedTopics).toEqual(["poc.kafka.go.side.car"]);
    expect(config.kafka.groupId).toBe("payment-service");
    expect(config.kafka.security).toEqual({ protocol: "plaintext" });
    expect(config.server.port).toBe(50051);
  });

  it("follows the PoC's SASL/SSL rules, with TLS alone when no credentials are given", () => {
    const sasl = { KAFKA_SASL_USERNAME: "key", KAFKA_SASL_PASSWORD: "secret" };
    expect(parseConfig({ ...sasl, KAFKA_SSL: "true" }).kafka.security).toEqual({
      protocol: "sasl_ssl",
      sasl: { mechanism: "PLAIN", username: "key", password: "secret" },
    });
    expect(parseConfig(sasl).kafka.security.protocol).toBe("sasl_plaintext");
    expect(parseConfig({ KAFKA_SSL: "true" }).kafka.security).toEqual({ protocol: "ssl" });
  });

  it("reads comma-separated pinned topics; an explicitly empty KAFKA_TOPIC pins none", () => {
    expect(parseConfig({ KAFKA_TOPIC: "a, b.c" }).kafka.pinnedTopics).toEqual(["a", "b.c"]);
    expect(parseConfig({ KAFKA_TOPIC: "" }).kafka.pinnedTopics).toEqual([]);
  });

  it("parses durations with units or as milliseconds", () => {
    expect(parseConfig({ STREAM_LINGER: "2s", SHUTDOWN_TIMEOUT: "1500" }).streams.lingerMs).toBe(2000);
    expect(parseConfig({ SHUTDOWN_TIMEOUT: "1500" }).server.shutdownTimeoutMs).toBe(1500);
  });

  it("stops on bad values, naming each variable and what is allowed", () => {
    const attempt = () =>
      parseConfig({
        GRPC_PORT: "70000",
        KAFKA_SSL: "maybe",
        STREAM_LINGER: "soon",
        KAFKA_TOPIC: "bad topic!",
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/GRPC_PORT \(got "70000"\): must be at most 65535/);
    expect(attempt).toThrow(/KAFKA_SSL \(got "maybe"\): must be true or false/);
    expect(attempt).toThrow(/STREAM_LINGER \(got "soon"\): must be a duration/);
    expect(attempt).toThrow(/KAFKA_TOPIC .*must be Kafka topic names/);
  });

  it("bounds every request by default, and refuses bounds that make no sense", () => {
    const { server, streams } = parseConfig({});
    expect(server).toMatchObject({
      maxRequestBytes: 1024 * 1024,
      bodyTimeoutMs: 30_000,
      maxConnections: 1000,
      maxStreamsPerIdentity: 1000,
      maxRequestsPerSecond: 1000,
    });
    expect(streams.queueEventsTotal).toBe(1_000_000);
    const attempt = () =>
      parseConfig({
        MAX_REQUEST_BYTES: "10",
        HTTP_BODY_TIMEOUT: "10ms",
        MAX_CONNECTIONS: "0",
        MAX_REQUESTS_PER_SECOND: "many",
        STREAM_QUEUE_EVENTS_TOTAL: "5",
      });
    expect(attempt).toThrow(/MAX_REQUEST_BYTES \(got "10"\): must be at least 1024/);
    expect(attempt).toThrow(/HTTP_BODY_TIMEOUT \(got "10ms"\): must be at least 100ms/);
    expect(attempt).toThrow(/MAX_CONNECTIONS \(got "0"\): must be at least 1/);
    expect(attempt).toThrow(/MAX_REQUESTS_PER_SECOND \(got "many"\): must be a whole number/);
    expect(attempt).toThrow(/STREAM_QUEUE_EVENTS_TOTAL \(got "5"\): must be at least 1000/);
  });

  it("never echoes a password back, even when it is the bad value", () => {
    try {
      parseConfig({ KAFKA_SASL_PASSWORD: "x", KAFKA_SASL_MECHANISM: "NOPE" });
    } catch (error) {
      expect(String(error)).not.toContain('"x"');
    }
  });

  it("rejects a bad AMOUNT_UNITS and a lone TLS_CERT", () => {
    expect(() => parseConfig({ AMOUNT_UNITS: "stripe=cents" })).toThrow(/AMOUNT_UNITS/);
    expect(() => parseConfig({ TLS_CERT: "/tmp/cert.pem" })).toThrow(/TLS_CERT and TLS_KEY: set both/);
  });

  it("refuses SHARE_PROCESSING without a shared store", () => {
    expect(() => parseConfig({ SHARE_PROCESSING: "true" })).toThrow(/SHARE_PROCESSING: needs DATABASE_URL/);
    const shared = parseConfig({ SHARE_PROCESSING: "true", DATABASE_URL: "postgres://pa@db:5432/pa" });
    expect(shared.kafka.shareProcessing).toBe(true);
  });
});
