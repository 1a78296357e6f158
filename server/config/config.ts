// pa's configuration: read once at start-up from the environment (and a .env file), validated into
// one typed object. A bad value stops the process with a message naming the variable and what is
// allowed; nothing else in pa reads process.env.
import { existsSync } from "node:fs";
import ms from "ms";
import { z } from "zod";
import { type AmountUnits, DEFAULT_AMOUNT_UNITS, parseAmountUnits } from "../payment/amount-units.js";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export interface KafkaSecurity {
  /** librdkafka security.protocol, derived from KAFKA_SSL and the SASL variables as the PoC does. */
  protocol: "plaintext" | "ssl" | "sasl_plaintext" | "sasl_ssl";
  sasl?: { mechanism: string; username: string; password: string };
}

export interface Config {
  kafka: {
    /** KAFKA_BROKERS: bootstrap servers, comma-separated. */
    brokers: string;
    /** KAFKA_TOPIC: topics consumed from start-up whether or not anyone subscribes. */
    pinnedTopics: string[];
    /** KAFKA_GROUP_ID: the consumer group whose committed offsets record what pa has processed. */
    groupId: string;
    security: KafkaSecurity;
    /** KAFKA_AUTO_OFFSET_RESET: where processing starts on a topic the group never committed. */
    autoOffsetReset: "earliest" | "latest";
    /**
     * SHARE_PROCESSING: instances with the same KAFKA_GROUP_ID split the processing of the
     * KAFKA_TOPIC topics through the group (each still streams every partition).
     */
    shareProcessing: boolean;
    /** CONSUMER_POOL_SIZE: librdkafka consumers shared by all active topics. */
    consumerPoolSize: number;
  };
  server: {
    /** GRPC_HOST and GRPC_PORT: the one address every protocol is served on. */
    host: string;
    port: number;
    /** TLS_CERT and TLS_KEY: PEM file paths; both set means TLS with ALPN (h2 and http/1.1). */
    tls?: { certFile: string; keyFile: string };
    /** SHUTDOWN_TIMEOUT: how long SIGTERM waits for streams and in-flight work before forcing. */
    shutdownTimeoutMs: number;
    /** HTTP_HEADERS_TIMEOUT: an HTTP/1.1 client must send its request headers within this. */
    headersTimeoutMs: number;
    /**
     * HTTP_BODY_TIMEOUT (default 30s): a client must finish sending a request body within this of
     * its headers, or its connection (HTTP/1.1) or stream (HTTP/2) is closed. Every RPC but
     * reflection sends one small message; reflection, a bidirectional stream, is exempt.
     */
    bodyTimeoutMs: number;
    /**
     * MAX_REQUEST_BYTES (default 1 MiB): the largest request message, on every protocol, counted
     * before and after decompression. A larger one is answered RESOURCE_EXHAUSTED (HTTP 413 outside
     * RPCs) without reading the rest of it; a declared content-length over it is refused at once.
     */
    maxRequestBytes: number;
    /**
     * MAX_CONNECTIONS (default 1000): open client connections at once; the next ones are closed as
     * soon as they are accepted, while the open ones carry on.
     */
    maxConnections: number;
    /**
     * MAX_STREAMS (default 5000), MAX_STREAMS_PER_CONNECTION (default 1000) and
     * MAX_STREAMS_PER_IDENTITY (default 1000): concurrent streaming calls (StreamPayments, health
     * Watch, reflection) in total, on one connection, and of one caller (its identity's name, or its
     * address when anonymous). HTTP/2 allows MAX_STREAMS_PER_CONNECTION plus room for unary calls
     * per connection.
     */
    maxStreams: number;
    maxStreamsPerConnection: number;
    maxStreamsPerIdentity: number;
    /**
     * MAX_REQUESTS_PER_SECOND (default 1000): calls of every kind one caller (identity name, or
     * address when anonymous) may start per second; more are answered RESOURCE_EXHAUSTED with a
     * `retry-after` header saying when to try again.
     */
    maxRequestsPerSecond: number;
  };
  streams: {
    /** TOPIC_ALLOWLIST: glob patterns of topics clients may subscribe to. */
    topicAllowlist: string[];
    /** STREAM_LINGER: how long a topic's consumption outlives its last subscriber. */
    lingerMs: number;
    /** STREAM_DEFAULT_EXISTING / STREAM_MAX_EXISTING: the "existing" snapshot size. */
    defaultExisting: number;
    maxExisting: number;
    /** STREAM_BUFFER_EVENTS: events queued per subscriber before it reads on from Kafka by itself. */
    bufferEvents: number;
    /** MAX_CATCH_UP_READERS: Kafka readers serving subscribers that fell behind, at once. */
    maxCatchUpReaders: number;
    /**
     * STREAM_QUEUE_EVENTS_TOTAL (default 1,000,000): events queued over all subscribers together.
     * Past it a subscriber's next events are read from Kafka by a catch-up reader, as when its own
     * queue is full: nothing is lost, and the queues' memory stays bounded (an event is ~1 KiB).
     */
    queueEventsTotal: number;
  };
  payments: {
    /** AMOUNT_UNITS: whether each provider's amounts are minor or major units. */
    amountUnits: AmountUnits;
  };
  store: {
    /** DATABASE_URL: PostgreSQL connection string; unset means the embedded store in dataDir. */
    databaseUrl?: string;
    /** DATA_DIR: where the embedded store keeps its file. */
    dataDir: string;
    /** STORE_MAX_PAYMENTS and STORE_RETENTION: what the store keeps at most. */
    retention: { maxPayments: number; maxAgeMs: number };
  };
  resilience: {
    /** RETRY_MAX_ATTEMPTS: retries of a failed store or dead-letter write before its topic pauses. */
    retryMaxAttempts: number;
    /** RETRY_INITIAL_DELAY: the first retry's delay; each next one doubles (+-25 % jitter). */
    retryInitialDelayMs: number;
    /** WRITE_ATTEMPT_TIMEOUT: one store or dead-letter write attempt fails after this long. */
    attemptTimeoutMs: number;
    /** BREAKER_THRESHOLD: consecutive failures that open a dependency's circuit breaker. */
    breakerThreshold: number;
    /** BREAKER_HALF_OPEN_AFTER: how long an open breaker fails fast before it lets a probe through. */
    breakerHalfOpenAfterMs: number;
    /** BREAKER_SUCCESSES_TO_CLOSE: successful writes after the probe that close the breaker again. */
    breakerSuccessesToClose: number;
    /** POISON_RETRIES: the PoC's habit of retrying an invalid record before dead-lettering it (0: at once). */
    poisonRetries: number;
  };
  admin: {
    /**
     * DLQ_CACHE_RECORDS: dead letters the admin service keeps after reading them, over all topics,
     * so the next list or redrive reads only what is new (0: read every DLQ in full each call).
     */
    deadLetterCacheRecords: number;
  };
  log: {
    level: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
    format: "pretty" | "json";
  };
}

type Env = Record<string, string | undefined>;

const boolean = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ["true", "false", "1", "0", "yes", "no"].includes(v), "must be true or false")
  .transform((v) => v === "true" || v === "1" || v === "yes");

const duration = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const parsed = /^\d+$/.test(value) ? Number(value) : ms(value as ms.StringValue);
    if (typeof parsed !== "number" || !Number.isFinite(parsed) || parsed < 0) {
      ctx.addIssue({ code: "custom", message: 'must be a duration such as "30s", "500ms" or milliseconds' });
      return z.NEVER;
    }
    return parsed;
  });

const count = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const list = z.string().transform((v) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);

const kafkaTopicName = /^[a-zA-Z0-9._-]{1,249}$/;

const schema = z.object({
  KAFKA_BROKERS: z.string().trim().min(1, "must name at least one host:port").default("localhost:9092"),
  KAFKA_TOPIC: list
    .default(["poc.kafka.go.side.car"])
    .refine(
      (topics) => topics.every((t) => kafkaTopicName.test(t)),
      "must be Kafka topic names (letters, digits, . _ -), comma-separated",
    ),
  KAFKA_GROUP_ID: z.string().trim().min(1, "must not be empty").default("payment-service"),
  KAFKA_SSL: boolean.default(false),
  SHARE_PROCESSING: boolean.default(false),
  KAFKA_SASL_MECHANISM: z
    .enum(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"], {
      message: "must be PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER",
    })
    .default("PLAIN"),
  KAFKA_SASL_USERNAME: z.string().default(""),
  KAFKA_SASL_PASSWORD: z.string().default(""),
  KAFKA_AUTO_OFFSET_RESET: z
    .enum(["earliest", "latest"], { message: "must be earliest or latest" })
    .default("earliest"),
  CONSUMER_POOL_SIZE: count(1, 16).default(2),
  GRPC_HOST: z.string().trim().min(1).default("0.0.0.0"),
  GRPC_PORT: count(0, 65535).default(50051),
  TLS_CERT: z.string().trim().default(""),
  TLS_KEY: z.string().trim().default(""),
  SHUTDOWN_TIMEOUT: duration.default(10_000),
  HTTP_HEADERS_TIMEOUT: duration.default(10_000),
  HTTP_BODY_TIMEOUT: duration.refine((ms) => ms >= 100, "must be at least 100ms").default(30_000),
  MAX_REQUEST_BYTES: count(1024, 64 * 1024 * 1024).default(1024 * 1024),
  MAX_CONNECTIONS: count(1, 1_000_000).default(1000),
  MAX_STREAMS: count(1, 100_000).default(5000),
  MAX_STREAMS_PER_CONNECTION: count(1, 100_000).default(1000),
  MAX_STREAMS_PER_IDENTITY: count(1, 100_000).default(1000),
  MAX_REQUESTS_PER_SECOND: count(1, 10_000_000).default(1000),
  TOPIC_ALLOWLIST: list.default(["*"]),
  STREAM_LINGER: duration.default(30_000),
  STREAM_DEFAULT_EXISTING: count(0, 100_000).default(100),
  STREAM_MAX_EXISTING: count(0, 100_000).default(1000),
  STREAM_BUFFER_EVENTS: count(16, 1_000_000).default(4096),
  MAX_CATCH_UP_READERS: count(1, 256).default(8),
  STREAM_QUEUE_EVENTS_TOTAL: count(1000, 100_000_000).default(1_000_000),
  AMOUNT_UNITS: z.string().default(DEFAULT_AMOUNT_UNITS),
  STORE_MAX_PAYMENTS: count(1, 1_000_000_000).default(5_000_000),
  STORE_RETENTION: duration.default(30 * 24 * 3600 * 1000),
  DATA_DIR: z.string().trim().min(1).default("./data"),
  DATABASE_URL: z
    .string()
    .trim()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// connection URL")
    .optional(),
  RETRY_MAX_ATTEMPTS: count(0, 100).default(3),
  RETRY_INITIAL_DELAY: duration.default(100),
  WRITE_ATTEMPT_TIMEOUT: duration.refine((ms) => ms >= 100, "must be at least 100ms").default(10_000),
  BREAKER_THRESHOLD: count(1, 1000).default(5),
  BREAKER_HALF_OPEN_AFTER: duration.default(30_000),
  BREAKER_SUCCESSES_TO_CLOSE: count(1, 1000).default(2),
  POISON_RETRIES: count(0, 100).default(0),
  DLQ_CACHE_RECORDS: count(0, 10_000_000).default(100_000),
  LOG_LEVEL: z
    .enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"], {
      message: "must be trace, debug, info, warn, error, fatal or silent",
    })
    .default("info"),
  LOG_FORMAT: z.enum(["pretty", "json"], { message: "must be pretty or json" }).optional(),
});

/** Reads `.env` from the working directory (variables already set win) and parses the environment. */
export function loadConfig(
  env: Env = process.env,
  options: { envFile?: string; isTty?: boolean } = {},
): Config {
  const envFile = options.envFile ?? ".env";
  if (env === process.env && existsSync(envFile)) process.loadEnvFile(envFile);
  return parseConfig(env, options.isTty ?? Boolean(process.stdout.isTTY));
}

/**
 * Validates the given variables. Empty strings count as unset, as in the PoC's getEnv, except
 * KAFKA_TOPIC: set but empty, it means no pinned topics (consumption purely on demand).
 */
export function parseConfig(env: Env, isTty = false): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([name, v]) => v !== undefined && (v !== "" || name === "KAFKA_TOPIC")),
  );
  const result = schema.safeParse(present);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "configuration");
      const secret = name.includes("PASSWORD") || name === "DATABASE_URL";
      const shown = secret ? "" : ` (got ${JSON.stringify(present[name] ?? "")})`;
      return `  ${name}${shown}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  const e = result.data;

  let amountUnits: AmountUnits;
  try {
    amountUnits = parseAmountUnits(e.AMOUNT_UNITS);
  } catch (error) {
    throw new ConfigError(`invalid configuration:\n  AMOUNT_UNITS: ${(error as Error).message}`);
  }
  if (Boolean(e.TLS_CERT) !== Boolean(e.TLS_KEY)) {
    throw new ConfigError(
      "invalid configuration:\n  TLS_CERT and TLS_KEY: set both (PEM file paths) or neither",
    );
  }
  for (const [name, path] of [
    ["TLS_CERT", e.TLS_CERT],
    ["TLS_KEY", e.TLS_KEY],
  ] as const) {
    if (path && !existsSync(path))
      throw new ConfigError(`invalid configuration:\n  ${name}: no file at ${path}`);
  }
  // With the embedded store every instance answers queries from its own file, so each must
  // process every partition itself; only a store the instances share can be filled in shares.
  if (e.SHARE_PROCESSING && !e.DATABASE_URL) {
    throw new ConfigError(
      "invalid configuration:\n  SHARE_PROCESSING: needs DATABASE_URL (a PostgreSQL the instances share); " +
        "with the embedded store each instance would hold only its share of the payments",
    );
  }
  if (e.STREAM_DEFAULT_EXISTING > e.STREAM_MAX_EXISTING) {
    throw new ConfigError(
      "invalid configuration:\n  STREAM_DEFAULT_EXISTING: must not exceed STREAM_MAX_EXISTING " +
        `(${e.STREAM_DEFAULT_EXISTING} > ${e.STREAM_MAX_EXISTING})`,
    );
  }

  return {
    kafka: {
      brokers: e.KAFKA_BROKERS,
      pinnedTopics: e.KAFKA_TOPIC,
      groupId: e.KAFKA_GROUP_ID,
      security: kafkaSecurity(
        e.KAFKA_SSL,
        e.KAFKA_SASL_MECHANISM,
        e.KAFKA_SASL_USERNAME,
        e.KAFKA_SASL_PASSWORD,
      ),
      autoOffsetReset: e.KAFKA_AUTO_OFFSET_RESET,
      shareProcessing: e.SHARE_PROCESSING,
      consumerPoolSize: e.CONSUMER_POOL_SIZE,
    },
    server: {
      host: e.GRPC_HOST,
      port: e.GRPC_PORT,
      ...(e.TLS_CERT ? { tls: { certFile: e.TLS_CERT, keyFile: e.TLS_KEY } } : {}),
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT,
      bodyTimeoutMs: e.HTTP_BODY_TIMEOUT,
      maxRequestBytes: e.MAX_REQUEST_BYTES,
      maxConnections: e.MAX_CONNECTIONS,
      maxStreams: e.MAX_STREAMS,
      maxStreamsPerConnection: e.MAX_STREAMS_PER_CONNECTION,
      maxStreamsPerIdentity: e.MAX_STREAMS_PER_IDENTITY,
      maxRequestsPerSecond: e.MAX_REQUESTS_PER_SECOND,
    },
    streams: {
      topicAllowlist: e.TOPIC_ALLOWLIST,
      lingerMs: e.STREAM_LINGER,
      defaultExisting: e.STREAM_DEFAULT_EXISTING,
      maxExisting: e.STREAM_MAX_EXISTING,
      bufferEvents: e.STREAM_BUFFER_EVENTS,
      maxCatchUpReaders: e.MAX_CATCH_UP_READERS,
      queueEventsTotal: e.STREAM_QUEUE_EVENTS_TOTAL,
    },
    payments: { amountUnits },
    store: {
      ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
      dataDir: e.DATA_DIR,
      retention: { maxPayments: e.STORE_MAX_PAYMENTS, maxAgeMs: e.STORE_RETENTION },
    },
    resilience: {
      retryMaxAttempts: e.RETRY_MAX_ATTEMPTS,
      retryInitialDelayMs: e.RETRY_INITIAL_DELAY,
      attemptTimeoutMs: e.WRITE_ATTEMPT_TIMEOUT,
      breakerThreshold: e.BREAKER_THRESHOLD,
      breakerHalfOpenAfterMs: e.BREAKER_HALF_OPEN_AFTER,
      breakerSuccessesToClose: e.BREAKER_SUCCESSES_TO_CLOSE,
      poisonRetries: e.POISON_RETRIES,
    },
    admin: { deadLetterCacheRecords: e.DLQ_CACHE_RECORDS },
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT ?? (isTty ? "pretty" : "json") },
  };
}

// The PoC's rule, with one fix: KAFKA_SSL without SASL credentials means TLS alone (the PoC asked for
// SASL_SSL with no credentials, which no broker accepts).
function kafkaSecurity(ssl: boolean, mechanism: string, username: string, password: string): KafkaSecurity {
  const sasl = username && password ? { mechanism, username, password } : undefined;
  if (ssl) return sasl ? { protocol: "sasl_ssl", sasl } : { protocol: "ssl" };
  return sasl ? { protocol: "sasl_plaintext", sasl } : { protocol: "plaintext" };
}
