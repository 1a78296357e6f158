import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

  it("allows and processes only the KAFKA_TOPIC topics unless TOPIC_ALLOWLIST and PROCESS_TOPICS say more", () => {
    const pinned = parseConfig({ KAFKA_TOPIC: "payments,orders" });
    expect(pinned.streams.topicAllowlist).toEqual(["payments", "orders"]);
    expect(pinned.streams.processTopics).toEqual(["payments", "orders"]);
    expect(parseConfig({}).streams.topicAllowlist).toEqual(["poc.kafka.go.side.car"]);
    const none = parseConfig({ KAFKA_TOPIC: "" });
    expect(none.streams.topicAllowlist).toEqual([]);
    expect(none.streams.processTopics).toEqual([]);
    const open = parseConfig({
      KAFKA_TOPIC: "payments",
      TOPIC_ALLOWLIST: "payments,users.*",
      PROCESS_TOPICS: "pay*",
    });
    expect(open.streams.topicAllowlist).toEqual(["payments", "users.*"]);
    expect(open.streams.processTopics).toEqual(["pay*"]);
  });

  it("refuses topic globs with characters no topic or glob has", () => {
    expect(() => parseConfig({ TOPIC_ALLOWLIST: "payments,users/*" })).toThrow(
      /TOPIC_ALLOWLIST \(got "payments,users\/\*"\): must be topic names or globs/,
    );
    expect(() => parseConfig({ PROCESS_TOPICS: "users/*" })).toThrow(/PROCESS_TOPICS .*topic names or globs/);
    expect(() => parseConfig({ PROCESS_TOPICS: "a b" })).toThrow(/PROCESS_TOPICS .*did you mean "a,b"/);
  });

  it("leaves METRICS_PORT and tracing off unless set", () => {
    expect(parseConfig({}).observability).toEqual({ serviceName: "pa" });
    expect(
      parseConfig({
        METRICS_PORT: "9464",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel-collector:4318",
        OTEL_SERVICE_NAME: "pa-eu",
      }).observability,
    ).toEqual({ metricsPort: 9464, otlpEndpoint: "http://otel-collector:4318", serviceName: "pa-eu" });
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
    expect(attempt).toThrow(/KAFKA_TOPIC .*must be exact Kafka topic names/);
  });

  // One bad value of every variable: each stops pa naming the variable and what to do instead.
  const files = mkdtempSync(join(tmpdir(), "pa-config-"));
  const notADirectory = join(files, "a-file");
  writeFileSync(notADirectory, "");
  const notPem = join(files, "not.pem");
  writeFileSync(notPem, "hello");
  it.each([
    ["KAFKA_BROKERS", "   ", /KAFKA_BROKERS .*must name at least one host:port/],
    [
      "KAFKA_BROKERS",
      "kafka-1:9092 kafka-2:9092",
      /KAFKA_BROKERS .*did you mean "kafka-1:9092,kafka-2:9092"/,
    ],
    ["KAFKA_BROKERS", "kafka:port", /KAFKA_BROKERS .*entry "kafka:port" is not host:port/],
    ["KAFKA_BROKERS", "kafka:70000", /KAFKA_BROKERS .*entry "kafka:70000" is not host:port/],
    ["KAFKA_BROKERS", "a:9092,,b:9092", /KAFKA_BROKERS .*entry "" is not host:port/],
    ["KAFKA_TOPIC", "payments orders", /KAFKA_TOPIC .*did you mean "payments,orders"/],
    ["KAFKA_TOPIC", "payments.*", /KAFKA_TOPIC .*exact Kafka topic names.*patterns go in TOPIC_ALLOWLIST/],
    ["KAFKA_GROUP_ID", "  ", /KAFKA_GROUP_ID .*must not be empty/],
    ["KAFKA_SSL", "on", /KAFKA_SSL .*must be true or false/],
    ["SHARE_PROCESSING", "sometimes", /SHARE_PROCESSING .*must be true or false/],
    [
      "KAFKA_SASL_MECHANISM",
      "GSSAPI",
      /KAFKA_SASL_MECHANISM .*must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512/,
    ],
    ["KAFKA_AUTO_OFFSET_RESET", "smallest", /KAFKA_AUTO_OFFSET_RESET .*must be earliest or latest/],
    ["CONSUMER_POOL_SIZE", "0", /CONSUMER_POOL_SIZE .*must be at least 1/],
    ["GRPC_HOST", "0.0.0.0:50051", /GRPC_HOST .*the port goes in GRPC_PORT/],
    ["GRPC_HOST", "[::1]", /GRPC_HOST .*IPv6 address without brackets: ::1/],
    ["GRPC_HOST", "not a host", /GRPC_HOST .*must be a host name or an IP address/],
    ["GRPC_PORT", "http", /GRPC_PORT .*must be a whole number/],
    ["SHUTDOWN_TIMEOUT", "30 days", /SHUTDOWN_TIMEOUT .*must be at most 2147483647 ms \(about 24.9 days\)/],
    ["HTTP_HEADERS_TIMEOUT", "-1s", /HTTP_HEADERS_TIMEOUT .*must be a duration/],
    ["MAX_STREAMS", "1e4", /MAX_STREAMS .*must be a whole number/],
    ["MAX_STREAMS_PER_CONNECTION", "0", /MAX_STREAMS_PER_CONNECTION .*must be at least 1/],
    ["TOPIC_ALLOWLIST", "payments orders", /TOPIC_ALLOWLIST .*did you mean "payments,orders"/],
    ["TOPIC_ALLOWLIST", "^payments$", /TOPIC_ALLOWLIST .*globs.*not regular expressions/],
    ["STREAM_LINGER", "a while", /STREAM_LINGER .*must be a duration/],
    ["STREAM_DEFAULT_EXISTING", "-5", /STREAM_DEFAULT_EXISTING .*must be a whole number/],
    ["STREAM_MAX_EXISTING", "100001", /STREAM_MAX_EXISTING .*must be at most 100000/],
    ["STREAM_BUFFER_EVENTS", "8", /STREAM_BUFFER_EVENTS .*must be at least 16/],
    ["STREAM_BUFFER_BYTES", "1000", /STREAM_BUFFER_BYTES .*must be at least 4096/],
    ["STREAM_BUFFER_BYTES", "8MiB", /STREAM_BUFFER_BYTES .*must be a whole number/],
    ["STREAM_QUEUE_BYTES_TOTAL", "65536", /STREAM_QUEUE_BYTES_TOTAL .*must be at least 1048576/],
    ["MAX_CATCH_UP_READERS", "300", /MAX_CATCH_UP_READERS .*must be at most 256/],
    ["AMOUNT_UNITS", "stripe=minor paypal=major", /AMOUNT_UNITS: .*did you mean "stripe=minor,paypal=major"/],
    ["STORE_MAX_PAYMENTS", "0", /STORE_MAX_PAYMENTS .*must be at least 1/],
    ["STORE_RETENTION", "forever", /STORE_RETENTION .*must be a duration/],
    ["DATA_DIR", notADirectory, /DATA_DIR: .* is not a directory/],
    ["DATA_DIR", join(notADirectory, "below"), /DATA_DIR: .* is not a directory/],
    [
      "DATABASE_URL",
      "mysql://pa@db/pa",
      /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ connection URL/,
    ],
    ["RETRY_MAX_ATTEMPTS", "many", /RETRY_MAX_ATTEMPTS .*must be a whole number/],
    ["RETRY_INITIAL_DELAY", "soon", /RETRY_INITIAL_DELAY .*must be a duration/],
    ["WRITE_ATTEMPT_TIMEOUT", "10ms", /WRITE_ATTEMPT_TIMEOUT .*must be at least 100ms/],
    ["BREAKER_THRESHOLD", "0", /BREAKER_THRESHOLD .*must be at least 1/],
    ["BREAKER_HALF_OPEN_AFTER", "later", /BREAKER_HALF_OPEN_AFTER .*must be a duration/],
    ["BREAKER_SUCCESSES_TO_CLOSE", "1001", /BREAKER_SUCCESSES_TO_CLOSE .*must be at most 1000/],
    ["POISON_RETRIES", "x", /POISON_RETRIES .*must be a whole number/],
    ["DLQ_CACHE_RECORDS", "-1", /DLQ_CACHE_RECORDS .*must be a whole number/],
    ["LOG_LEVEL", "verbose", /LOG_LEVEL .*must be trace, debug, info, warn, error, fatal or silent/],
    ["LOG_FORMAT", "xml", /LOG_FORMAT .*must be pretty or json/],
    ["METRICS_PORT", "70000", /METRICS_PORT .*must be at most 65535/],
    ["METRICS_PORT", "50051", /METRICS_PORT: must differ from GRPC_PORT/],
    [
      "OTEL_EXPORTER_OTLP_ENDPOINT",
      "collector:4318",
      /OTEL_EXPORTER_OTLP_ENDPOINT .*http:\/\/ or https:\/\/ URL/,
    ],
  ])("refuses %s=%j, naming it", (name, value, message) => {
    expect(() => parseConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig({ [name]: value })).toThrow(message);
  });

  it("checks the TLS files: present, readable, PEM, and a key that belongs to the certificate", () => {
    const pair = (name: string) => {
      const cert = join(files, `${name}.crt`);
      const key = join(files, `${name}.key`);
      execFileSync(
        "openssl",
        ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"].concat([
          "-keyout",
          key,
          "-out",
          cert,
          "-days",
          "1",
          "-subj",
          `/CN=${name}`,
        ]),
        { stdio: "ignore" },
      );
      return { cert, key };
    };
    const one = pair("one");
    const two = pair("two");
    expect(parseConfig({ TLS_CERT: one.cert, TLS_KEY: one.key }).server.tls).toEqual({
      certFile: one.cert,
      keyFile: one.key,
    });
    const refused = (cert: string, key: string) => () => parseConfig({ TLS_CERT: cert, TLS_KEY: key });
    expect(refused(join(files, "missing.crt"), one.key)).toThrow(/TLS_CERT: no file at .*missing\.crt/);
    expect(refused(notPem, one.key)).toThrow(/TLS_CERT: .*not\.pem is not a PEM certificate/);
    expect(refused(one.cert, notPem)).toThrow(/TLS_KEY: .*not\.pem is not an unencrypted PEM private key/);
    expect(refused(one.cert, two.key)).toThrow(
      /TLS_KEY: .*two\.key is not the private key of the certificate/,
    );
    if (process.getuid?.() !== 0) {
      chmodSync(two.key, 0o000);
      expect(refused(two.cert, two.key)).toThrow(/TLS_KEY: cannot read .*two\.key \(EACCES\)/);
    }
  });

  it.each([
    [
      "a space in the password",
      "postgres://alice:pa ss@db.internal:5432/db",
      "pa ss",
      /percent-encode it .* \(a space is %20\)/,
    ],
    [
      "a stray %",
      "postgres://alice:secret@db.internal:5432/db%",
      "secret",
      /a % that does not start a percent-encoded byte/,
    ],
    ["both", "postgres://alice:pa ss@db.internal:5432/db%", "pa ss", /DATABASE_URL: /],
    ["an unclosed IPv6 host", "postgresql://alice:secret@[bad", "secret", /is not a valid URL/],
    ["a port out of range", "postgres://alice:secret@db.internal:99999/db", "secret", /is not a valid URL/],
    [
      "an unencoded # in the password",
      "postgres://alice:se#cret@db.internal/db",
      "se#cret",
      /is not a valid URL/,
    ],
    [
      "invalid UTF-8",
      "postgres://alice:secret%ff@db.internal/db",
      "secret",
      /password whose percent-encoding is not UTF-8/,
    ],
    [
      "a / in the database name",
      "postgres://alice:secret@db.internal/db/x",
      "secret",
      /a \/ in the database name/,
    ],
    [
      "an unknown sslmode",
      "postgres://alice:secret@db.internal/db?sslmode=maybe",
      "secret",
      /sslmode that is not one of/,
    ],
  ])("refuses a DATABASE_URL with %s, quoting nothing of it", (_, url, password, message) => {
    let thrown: unknown;
    try {
      parseConfig({ DATABASE_URL: url });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const text = String(thrown);
    expect(text).toMatch(/DATABASE_URL: /);
    expect(text).toMatch(message);
    expect(text).not.toContain(password);
    for (const part of ["alice", "db.internal", "[bad"]) expect(text).not.toContain(part);
  });

  it("accepts the connection URLs node-postgres reads", () => {
    for (const url of [
      "postgres://pa@db:5432/pa",
      "postgresql://pa:p%40ss%20word@db.internal/pa?sslmode=verify-full",
      "postgres://pa:secret@[::1]:5432/pa",
      "postgres:///pa?host=/var/run/postgresql",
    ]) {
      expect(parseConfig({ DATABASE_URL: url }).store.databaseUrl).toBe(url);
    }
  });

  it("refuses half a SASL setting instead of connecting without SASL", () => {
    expect(() => parseConfig({ KAFKA_SASL_USERNAME: "key" })).toThrow(
      /KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD: only the username is set/,
    );
    expect(() => parseConfig({ KAFKA_SASL_PASSWORD: "hunter2" })).toThrow(/only the password is set/);
    expect(() => parseConfig({ KAFKA_SASL_PASSWORD: "hunter2" })).not.toThrow(/hunter2/);
    expect(() => parseConfig({ KAFKA_SASL_MECHANISM: "SCRAM-SHA-512" })).toThrow(
      /KAFKA_SASL_MECHANISM: SCRAM-SHA-512 needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/,
    );
    const scram = parseConfig({
      KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
      KAFKA_SASL_USERNAME: "key",
      KAFKA_SASL_PASSWORD: "secret",
    });
    expect(scram.kafka.security.sasl?.mechanism).toBe("SCRAM-SHA-512");
  });

  it("refuses OAUTHBEARER at start-up, saying which mechanisms work", () => {
    expect(() =>
      parseConfig({
        KAFKA_SASL_MECHANISM: "OAUTHBEARER",
        KAFKA_SASL_USERNAME: "id",
        KAFKA_SASL_PASSWORD: "s",
      }),
    ).toThrow(/KAFKA_SASL_MECHANISM .*OAUTHBEARER is not supported.*PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512/);
  });

  it("accepts the list forms people write: spaces beside commas, globs in TOPIC_ALLOWLIST, several brokers", () => {
    const config = parseConfig({
      KAFKA_TOPIC: "payments, orders",
      TOPIC_ALLOWLIST: "payments.*, orders-[0-9]?, {a,b}",
      KAFKA_BROKERS: "kafka-1:9092, kafka_2, SASL_SSL://kafka-3.example.com:9093, [::1]:9092",
    });
    expect(config.kafka.pinnedTopics).toEqual(["payments", "orders"]);
    expect(config.kafka.brokers).toBe(
      "kafka-1:9092, kafka_2, SASL_SSL://kafka-3.example.com:9093, [::1]:9092",
    );
  });

  it("bounds every request by default, and refuses bounds that make no sense", () => {
    const { server, streams } = parseConfig({});
    expect(server).toMatchObject({
      maxRequestBytes: 1024 * 1024,
      bodyTimeoutMs: 30_000,
      maxConnections: 1000,
      maxStreamsPerIdentity: 1000,
      maxRequestsPerSecond: 10_000,
    });
    expect(streams.queueEventsTotal).toBe(1_000_000);
    expect(streams.bufferBytes).toBe(8 * 1024 * 1024);
    expect(streams.queueBytesTotal).toBe(256 * 1024 * 1024);
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

  it("takes the group's session and heartbeat, with at least three heartbeats per session", () => {
    expect(parseConfig({}).kafka).toMatchObject({ sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000 });
    const slow = parseConfig({ KAFKA_SESSION_TIMEOUT: "45s", KAFKA_HEARTBEAT_INTERVAL: "3s" });
    expect(slow.kafka).toMatchObject({ sessionTimeoutMs: 45_000, heartbeatIntervalMs: 3_000 });
    expect(() => parseConfig({ KAFKA_SESSION_TIMEOUT: "6s", KAFKA_HEARTBEAT_INTERVAL: "3s" })).toThrow(
      /KAFKA_HEARTBEAT_INTERVAL: must be at most a third of KAFKA_SESSION_TIMEOUT/,
    );
    expect(() => parseConfig({ KAFKA_SESSION_TIMEOUT: "500ms" })).toThrow(
      /KAFKA_SESSION_TIMEOUT .*must be between 1s and 30m/,
    );
    expect(() => parseConfig({ KAFKA_HEARTBEAT_INTERVAL: "soon" })).toThrow(
      /KAFKA_HEARTBEAT_INTERVAL .*duration/,
    );
  });

  it("refuses SHARE_PROCESSING without a shared store", () => {
    expect(() => parseConfig({ SHARE_PROCESSING: "true" })).toThrow(/SHARE_PROCESSING: needs DATABASE_URL/);
    const shared = parseConfig({ SHARE_PROCESSING: "true", DATABASE_URL: "postgres://pa@db:5432/pa" });
    expect(shared.kafka.shareProcessing).toBe(true);
  });
});
