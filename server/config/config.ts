// pa's configuration: read once at start-up from the environment (and a .env file), validated into
// one typed object. A bad value stops the process with a message naming the variable and what is
// allowed; nothing else in pa reads process.env.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import path from "node:path";
import ms from "ms";
import { z } from "zod";
import { type AmountUnits, DEFAULT_AMOUNT_UNITS, parseAmountUnits } from "../payment/amount-units.js";
import { databaseUrlProblem } from "./database-url.js";
import { listSeparatorHint } from "./list-separators.js";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export interface KafkaSecurity {
  /** librdkafka security.protocol, derived from KAFKA_SSL and the SASL variables as the PoC does. */
  protocol: "plaintext" | "ssl" | "sasl_plaintext" | "sasl_ssl";
  sasl?: { mechanism: string; username: string; password: string };
}

/** AUTH_MODE: how callers prove who they are (mTLS, with TLS_CLIENT_CA, combines with any). */
export type AuthMode = "none" | "token" | "jwt";

export interface AuthConfig {
  mode: AuthMode;
  /**
   * AUTH_TOKENS_FILE: a JSON or YAML array of API keys ({name, sha256, scope, tenant?}) and mTLS
   * subjects ({name, subject, scope, tenant?}); read at start-up, on change and on SIGHUP.
   */
  tokensFile?: string;
  /** AUTH_MODE=jwt: where the signing keys come from, and the claims every JWT must carry. */
  jwt?: {
    /** AUTH_JWKS_URL (https, or http on loopback) or AUTH_JWT_PUBLIC_KEY_FILE (PEM or JWK/JWKS): exactly one. */
    keys: { jwksUrl: string } | { publicKeyFile: string };
    /** AUTH_JWT_ISSUER: the required `iss`. */
    issuer: string;
    /** AUTH_JWT_AUDIENCE: the required `aud` (pa's own name at the issuer). */
    audience: string;
  };
  /** AUTH_TENANT_CLAIM: the JWT claim that binds an identity to one tenant; unset: none is bound. */
  tenantClaim?: string;
  /**
   * ALLOW_INSECURE: with AUTH_MODE=none and no mTLS, pa listens on loopback only unless this says
   * that anyone reaching GRPC_HOST may read everything.
   */
  allowInsecure: boolean;
}

export interface Config {
  auth: AuthConfig;
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
    /**
     * KAFKA_SESSION_TIMEOUT: how long the group waits for a silent member (killed, frozen, cut off)
     * before moving its partitions to the others; under SHARE_PROCESSING, what a SIGKILL costs in
     * seconds without processing. The broker refuses values below its group.min.session.timeout.ms
     * (6 s by default).
     */
    sessionTimeoutMs: number;
    /** KAFKA_HEARTBEAT_INTERVAL: how often pa tells the group it is alive; at most a third of the session. */
    heartbeatIntervalMs: number;
  };
  server: {
    /** GRPC_HOST and GRPC_PORT: the one address every protocol is served on. */
    host: string;
    port: number;
    /**
     * TLS_CERT and TLS_KEY: PEM file paths; both set means TLS with ALPN (h2 and http/1.1).
     * TLS_CLIENT_CA: a PEM file of the CA(s) whose client certificates identify callers (mTLS).
     */
    tls?: { certFile: string; keyFile: string; clientCaFile?: string };
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
     * MAX_REQUESTS_PER_SECOND (default 10,000): calls of every kind one caller (identity name, or
     * address when anonymous) may start per second; more are answered RESOURCE_EXHAUSTED with a
     * `retry-after` header saying when to try again.
     */
    maxRequestsPerSecond: number;
  };
  streams: {
    /**
     * TOPIC_ALLOWLIST: glob patterns of the topics clients may stream and query. Defaults to the
     * KAFKA_TOPIC topics, so that no other topic of the cluster is reachable unless configured.
     */
    topicAllowlist: string[];
    /**
     * PROCESS_TOPICS: glob patterns of the topics pa processes: stores their payments, dead-letters
     * their invalid records and commits their offsets. Defaults to the KAFKA_TOPIC topics, which are
     * always processed. Any other allowed topic is streamed read-only: nothing of it is written to
     * the cluster or the store.
     */
    processTopics: string[];
    /** STREAM_LINGER: how long a topic's consumption outlives its last subscriber. */
    lingerMs: number;
    /** STREAM_DEFAULT_EXISTING / STREAM_MAX_EXISTING: the "existing" snapshot size. */
    defaultExisting: number;
    maxExisting: number;
    /**
     * STREAM_BUFFER_EVENTS (default 4,096): events queued per subscriber whose events are encoded
     * by Connect's handler (gRPC-Web, Connect, compressed gRPC) before it reads on from Kafka by
     * itself. Native gRPC streams are bounded in bytes instead (STREAM_BUFFER_BYTES).
     */
    bufferEvents: number;
    /**
     * STREAM_BUFFER_BYTES (default 8 MiB): encoded frames queued per native gRPC subscriber before
     * it reads on from Kafka by itself (a frame may pass it by its own size). A PaymentEvent frame
     * is 200-400 bytes, so 8 MiB holds some 25,000 events: a client that pauses for a second while
     * a topic bursts at 20,000 records/s is written from its queue and never costs a second read
     * and parse of the records, while 8 MiB for each of a few hundred streams stays far below the
     * memory the queued PaymentEvent objects (~1 KiB each) took under STREAM_BUFFER_EVENTS.
     */
    bufferBytes: number;
    /** MAX_CATCH_UP_READERS: Kafka readers serving subscribers that fell behind, at once. */
    maxCatchUpReaders: number;
    /**
     * STREAM_QUEUE_EVENTS_TOTAL (default 1,000,000): events queued over all subscribers together.
     * Past it a subscriber's next events are read from Kafka by a catch-up reader, as when its own
     * queue is full: nothing is lost, and the queues' memory stays bounded (an event is ~1 KiB).
     */
    queueEventsTotal: number;
    /**
     * STREAM_QUEUE_BYTES_TOTAL (default 256 MiB): frame bytes queued over all native gRPC
     * subscribers together. Past it a subscriber's next events are read from Kafka by a catch-up
     * reader, as when its own queue is full: nothing is lost, and the queues' memory stays bounded.
     */
    queueBytesTotal: number;
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
  access: {
    /**
     * TENANT_METADATA_KEY: the payment metadata key (e.g. merchant_id) a tenant-bound identity's
     * tenant is matched against; unset: no identity may be tenant-bound.
     */
    tenantMetadataKey?: string;
    /**
     * PII_METADATA_KEYS: metadata keys (compared case-insensitively) that identities without the
     * `pii` grant never see, beside the customer e-mail, which they see masked.
     */
    piiMetadataKeys: string[];
    /**
     * CORS_ORIGINS: browser origins (scheme://host[:port], exactly) allowed to call pa from another
     * origin; empty: no CORS headers, so only same-origin pages (the bundled dashboard) call it.
     */
    corsOrigins: string[];
  };
  observability: {
    /**
     * METRICS_PORT: a second, plain-HTTP listener (on GRPC_HOST) serving only /metrics, /healthz and
     * /readyz to anyone who reaches it, for a Prometheus outside the loopback interface when pa's
     * own port requires credentials. Unset: /metrics only on pa's port.
     */
    metricsPort?: number;
    /**
     * OTEL_EXPORTER_OTLP_ENDPOINT: the OpenTelemetry collector's OTLP/HTTP base URL (traces go to
     * <url>/v1/traces). Unset: tracing is off and costs nothing.
     */
    otlpEndpoint?: string;
    /** OTEL_SERVICE_NAME: the service.name of pa's spans (default "pa"). */
    serviceName: string;
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

// Node's timers take at most 2^31-1 ms (about 24.8 days) and fire at once beyond it.
const MAX_TIMER_MS = 2 ** 31 - 1;

const durationUpTo = (max: number) =>
  z
    .string()
    .trim()
    .transform((value, ctx) => {
      const parsed = /^\d+$/.test(value) ? Number(value) : ms(value as ms.StringValue);
      if (typeof parsed !== "number" || !Number.isFinite(parsed) || parsed < 0) {
        ctx.addIssue({
          code: "custom",
          message: 'must be a duration such as "30s", "500ms" or milliseconds',
        });
        return z.NEVER;
      }
      if (parsed > max) {
        ctx.addIssue({
          code: "custom",
          message: `must be at most ${max} ms (about ${(max / 86_400_000).toFixed(1)} days)`,
        });
        return z.NEVER;
      }
      return Math.round(parsed);
    });

/** A duration that pa waits with a timer. */
const duration = durationUpTo(MAX_TIMER_MS);

const count = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const list = z.string().transform((v, ctx) => {
  const hint = listSeparatorHint(v);
  if (hint) {
    ctx.addIssue({ code: "custom", message: hint });
    return z.NEVER;
  }
  return v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
});

function isExactOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === origin;
  } catch {
    return false;
  }
}

const kafkaTopicName = /^[a-zA-Z0-9._-]{1,249}$/;
// What picomatch reads in a topic glob: topic-name characters and the wildcards * ? [ ] { } ! ,
const topicGlob = /^[a-zA-Z0-9._\-*?[\]{}!]+$/;

// RFC 1123 labels, plus the underscores Docker's service names may hold.
const hostName = /^(?=.{1,253}$)\w([\w-]{0,61}\w)?(\.\w([\w-]{0,61}\w)?)*\.?$/;
// librdkafka's bootstrap entry: an optional protocol prefix, a host (an IPv6 address in brackets)
// and an optional port.
const brokerAddress = /^(?:[a-zA-Z_]+:\/\/)?(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9._-]+)(?::(\d{1,5}))?$/;

function brokersProblem(value: string): string | undefined {
  const hint = listSeparatorHint(value);
  if (hint) return hint;
  for (const entry of value.split(",").map((s) => s.trim())) {
    const match = brokerAddress.exec(entry);
    const port = match?.[2] === undefined ? 9092 : Number(match[2]);
    if (
      !match ||
      !(hostName.test(match[1] ?? "") || (match[1] ?? "").startsWith("[")) ||
      port < 1 ||
      port > 65535
    ) {
      return `entry "${entry}" is not host:port; KAFKA_BROKERS is a comma-separated list such as "kafka-1:9092,kafka-2:9092"`;
    }
  }
  return undefined;
}

function hostProblem(value: string): string | undefined {
  if (isIP(value) !== 0 || hostName.test(value)) return undefined;
  if (/^\[.*\]$/.test(value) && isIP(value.slice(1, -1)) === 6) {
    return `must be an IPv6 address without brackets: ${value.slice(1, -1)}`;
  }
  if (/:\d+$/.test(value)) return "must be a host name or IP address alone; the port goes in GRPC_PORT";
  return "must be a host name or an IP address, e.g. 127.0.0.1, 0.0.0.0 or ::";
}

const SASL_MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const;

// Unset, a topic list defaults to KAFKA_TOPIC's topics (resolved after parsing).
const topicGlobs = list
  .refine(
    (globs) => globs.every((glob) => topicGlob.test(glob)),
    "must be topic names or globs (* and ? wildcards, e.g. payments.*), comma-separated; not regular expressions",
  )
  .optional();

const schema = z.object({
  KAFKA_BROKERS: z
    .string()
    .trim()
    .min(1, "must name at least one host:port")
    .superRefine((value, ctx) => {
      const problem = brokersProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .default("localhost:9092"),
  KAFKA_TOPIC: list
    .default(["poc.kafka.go.side.car"])
    .refine(
      (topics) => topics.every((t) => kafkaTopicName.test(t)),
      "must be exact Kafka topic names (letters, digits, . _ -), comma-separated; patterns go in TOPIC_ALLOWLIST",
    ),
  KAFKA_GROUP_ID: z.string().trim().min(1, "must not be empty").default("payment-service"),
  KAFKA_SSL: boolean.default(false),
  SHARE_PROCESSING: boolean.default(false),
  KAFKA_SASL_MECHANISM: z
    .enum(SASL_MECHANISMS, {
      error: (issue) =>
        issue.input === "OAUTHBEARER"
          ? "OAUTHBEARER is not supported (pa has no token source for it); the mechanisms that work are PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512"
          : "must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
    })
    .optional(),
  KAFKA_SASL_USERNAME: z.string().default(""),
  KAFKA_SASL_PASSWORD: z.string().default(""),
  KAFKA_AUTO_OFFSET_RESET: z
    .enum(["earliest", "latest"], { message: "must be earliest or latest" })
    .default("earliest"),
  CONSUMER_POOL_SIZE: count(1, 16).default(2),
  // The broker's own bounds (group.min/max.session.timeout.ms) are 6 s and 30 min by default.
  KAFKA_SESSION_TIMEOUT: duration
    .refine(
      (ms) => ms >= 1_000 && ms <= 1_800_000,
      "must be between 1s and 30m (the broker's default minimum is 6s)",
    )
    .default(6_000),
  KAFKA_HEARTBEAT_INTERVAL: duration.refine((ms) => ms >= 100, "must be at least 100ms").default(1_000),
  // Unset, it depends on AUTH_MODE (see listenHost): loopback only when nobody is authenticated.
  GRPC_HOST: z
    .string()
    .trim()
    .min(1)
    .superRefine((value, ctx) => {
      const problem = hostProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  GRPC_PORT: count(0, 65535).default(50051),
  TLS_CERT: z.string().trim().default(""),
  TLS_KEY: z.string().trim().default(""),
  TLS_CLIENT_CA: z.string().trim().default(""),
  AUTH_MODE: z.enum(["none", "token", "jwt"], { message: "must be none, token or jwt" }).default("none"),
  AUTH_TOKENS_FILE: z.string().trim().default(""),
  AUTH_JWKS_URL: z.string().trim().default(""),
  AUTH_JWT_PUBLIC_KEY_FILE: z.string().trim().default(""),
  AUTH_JWT_ISSUER: z.string().trim().default(""),
  AUTH_JWT_AUDIENCE: z.string().trim().default(""),
  AUTH_TENANT_CLAIM: z.string().trim().optional(),
  ALLOW_INSECURE: boolean.default(false),
  SHUTDOWN_TIMEOUT: duration.default(10_000),
  HTTP_HEADERS_TIMEOUT: duration.default(10_000),
  HTTP_BODY_TIMEOUT: duration.refine((ms) => ms >= 100, "must be at least 100ms").default(30_000),
  MAX_REQUEST_BYTES: count(1024, 64 * 1024 * 1024).default(1024 * 1024),
  MAX_CONNECTIONS: count(1, 1_000_000).default(1000),
  MAX_STREAMS: count(1, 100_000).default(5000),
  MAX_STREAMS_PER_CONNECTION: count(1, 100_000).default(1000),
  MAX_STREAMS_PER_IDENTITY: count(1, 100_000).default(1000),
  MAX_REQUESTS_PER_SECOND: count(1, 10_000_000).default(10_000),
  TOPIC_ALLOWLIST: topicGlobs,
  PROCESS_TOPICS: topicGlobs,
  STREAM_LINGER: duration.default(30_000),
  STREAM_DEFAULT_EXISTING: count(0, 100_000).default(100),
  STREAM_MAX_EXISTING: count(0, 100_000).default(1000),
  STREAM_BUFFER_EVENTS: count(16, 1_000_000).default(4096),
  MAX_CATCH_UP_READERS: count(1, 256).default(8),
  STREAM_QUEUE_EVENTS_TOTAL: count(1000, 100_000_000).default(1_000_000),
  STREAM_BUFFER_BYTES: count(4096, 1024 * 1024 * 1024).default(8 * 1024 * 1024),
  STREAM_QUEUE_BYTES_TOTAL: count(1024 * 1024, 64 * 1024 * 1024 * 1024).default(256 * 1024 * 1024),
  AMOUNT_UNITS: z.string().default(DEFAULT_AMOUNT_UNITS),
  STORE_MAX_PAYMENTS: count(1, 1_000_000_000).default(5_000_000),
  // An age compared with timestamps, never a timer, so it may exceed a timer's range.
  STORE_RETENTION: durationUpTo(Number.MAX_SAFE_INTEGER).default(30 * 24 * 3600 * 1000),
  DATA_DIR: z.string().trim().min(1).default("./data"),
  DATABASE_URL: z
    .string()
    .trim()
    .superRefine((value, ctx) => {
      const problem = databaseUrlProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  METRICS_PORT: count(0, 65535).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .string()
    .trim()
    .refine((value) => {
      if (value === "") return true;
      try {
        return ["http:", "https:"].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, "must be the collector's http:// or https:// URL, e.g. http://otel-collector:4318")
    .optional(),
  OTEL_SERVICE_NAME: z.string().trim().min(1).default("pa"),
  RETRY_MAX_ATTEMPTS: count(0, 100).default(3),
  RETRY_INITIAL_DELAY: duration.default(100),
  WRITE_ATTEMPT_TIMEOUT: duration.refine((ms) => ms >= 100, "must be at least 100ms").default(10_000),
  BREAKER_THRESHOLD: count(1, 1000).default(5),
  BREAKER_HALF_OPEN_AFTER: duration.default(30_000),
  BREAKER_SUCCESSES_TO_CLOSE: count(1, 1000).default(2),
  POISON_RETRIES: count(0, 100).default(0),
  DLQ_CACHE_RECORDS: count(0, 10_000_000).default(100_000),
  TENANT_METADATA_KEY: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.:-]{1,128}$/, "must be a metadata key: letters, digits, _ . : - (e.g. merchant_id)")
    .optional(),
  PII_METADATA_KEYS: list.default(["email", "phone", "customer_name", "address", "ip_address"]),
  CORS_ORIGINS: list
    .refine(
      (origins) => !origins.includes("*"),
      'must list exact origins: "*" is refused because pa\'s calls carry credentials (authorization, client certificates)',
    )
    .refine(
      (origins) => origins.every(isExactOrigin),
      "must be origins like https://dashboard.example.com or http://localhost:5173 (scheme, host and port; no path), comma-separated",
    )
    .default([]),
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
  if (e.TLS_CERT) checkTlsFiles(e.TLS_CERT, e.TLS_KEY);
  if (!e.DATABASE_URL) checkDataDir(e.DATA_DIR);
  const auth = authConfig(e);
  for (const [name, path] of [
    ["TLS_CLIENT_CA", e.TLS_CLIENT_CA],
    ["AUTH_TOKENS_FILE", e.AUTH_TOKENS_FILE],
    ["AUTH_JWT_PUBLIC_KEY_FILE", e.AUTH_JWT_PUBLIC_KEY_FILE],
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
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.GRPC_PORT) {
    throw new ConfigError(
      `invalid configuration:\n  METRICS_PORT: must differ from GRPC_PORT (both ${e.GRPC_PORT}); /metrics is on GRPC_PORT already, unset METRICS_PORT or pick another port`,
    );
  }
  // Fewer than three heartbeats per session and one lost heartbeat can cost the member its partitions.
  if (e.KAFKA_HEARTBEAT_INTERVAL * 3 > e.KAFKA_SESSION_TIMEOUT) {
    throw invalid(
      "KAFKA_HEARTBEAT_INTERVAL",
      `must be at most a third of KAFKA_SESSION_TIMEOUT (${e.KAFKA_HEARTBEAT_INTERVAL} ms > ${e.KAFKA_SESSION_TIMEOUT} ms / 3), e.g. 1s with a 6s session`,
    );
  }
  if (e.STREAM_DEFAULT_EXISTING > e.STREAM_MAX_EXISTING) {
    throw new ConfigError(
      "invalid configuration:\n  STREAM_DEFAULT_EXISTING: must not exceed STREAM_MAX_EXISTING " +
        `(${e.STREAM_DEFAULT_EXISTING} > ${e.STREAM_MAX_EXISTING})`,
    );
  }

  // A tenant-bound identity is matched against a metadata key; without one it could see nothing.
  if (e.AUTH_TENANT_CLAIM && !e.TENANT_METADATA_KEY) {
    throw invalid(
      "TENANT_METADATA_KEY",
      "must be set with AUTH_TENANT_CLAIM: name the payment metadata key a tenant is matched against (e.g. merchant_id)",
    );
  }

  const host = listenHost(e.GRPC_HOST, auth, Boolean(e.TLS_CLIENT_CA));

  return {
    auth,
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
      sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT,
      heartbeatIntervalMs: e.KAFKA_HEARTBEAT_INTERVAL,
    },
    server: {
      host,
      port: e.GRPC_PORT,
      ...(e.TLS_CERT
        ? {
            tls: {
              certFile: e.TLS_CERT,
              keyFile: e.TLS_KEY,
              ...(e.TLS_CLIENT_CA ? { clientCaFile: e.TLS_CLIENT_CA } : {}),
            },
          }
        : {}),
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
      topicAllowlist: e.TOPIC_ALLOWLIST ?? e.KAFKA_TOPIC,
      processTopics: e.PROCESS_TOPICS ?? e.KAFKA_TOPIC,
      lingerMs: e.STREAM_LINGER,
      defaultExisting: e.STREAM_DEFAULT_EXISTING,
      maxExisting: e.STREAM_MAX_EXISTING,
      bufferEvents: e.STREAM_BUFFER_EVENTS,
      maxCatchUpReaders: e.MAX_CATCH_UP_READERS,
      queueEventsTotal: e.STREAM_QUEUE_EVENTS_TOTAL,
      bufferBytes: e.STREAM_BUFFER_BYTES,
      queueBytesTotal: e.STREAM_QUEUE_BYTES_TOTAL,
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
    access: {
      ...(e.TENANT_METADATA_KEY ? { tenantMetadataKey: e.TENANT_METADATA_KEY } : {}),
      piiMetadataKeys: e.PII_METADATA_KEYS,
      corsOrigins: e.CORS_ORIGINS,
    },
    observability: {
      ...(e.METRICS_PORT !== undefined ? { metricsPort: e.METRICS_PORT } : {}),
      ...(e.OTEL_EXPORTER_OTLP_ENDPOINT ? { otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
      serviceName: e.OTEL_SERVICE_NAME,
    },
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT ?? (isTty ? "pretty" : "json") },
  };
}

type Parsed = z.infer<typeof schema>;

function invalid(name: string, message: string): ConfigError {
  return new ConfigError(`invalid configuration:\n  ${name}: ${message}`);
}

function authConfig(e: Parsed): AuthConfig {
  const mode = e.AUTH_MODE;
  if (e.TLS_CLIENT_CA && !e.TLS_CERT) {
    throw invalid(
      "TLS_CLIENT_CA",
      "needs TLS_CERT and TLS_KEY (client certificates are asked for in the TLS handshake)",
    );
  }
  if (mode === "token" && !e.AUTH_TOKENS_FILE) {
    throw invalid("AUTH_TOKENS_FILE", "AUTH_MODE=token needs it: the file of API keys (JSON or YAML)");
  }
  if (e.TLS_CLIENT_CA && !e.AUTH_TOKENS_FILE) {
    throw invalid(
      "AUTH_TOKENS_FILE",
      "TLS_CLIENT_CA needs it: client certificate subjects get their scope from its {subject, scope} entries",
    );
  }
  if (e.AUTH_TOKENS_FILE && mode !== "token" && !e.TLS_CLIENT_CA) {
    throw invalid(
      "AUTH_TOKENS_FILE",
      "is read only with AUTH_MODE=token or TLS_CLIENT_CA; set one or unset it",
    );
  }
  const jwtVariables = [
    "AUTH_JWKS_URL",
    "AUTH_JWT_PUBLIC_KEY_FILE",
    "AUTH_JWT_ISSUER",
    "AUTH_JWT_AUDIENCE",
    "AUTH_TENANT_CLAIM",
  ] as const;
  if (mode !== "jwt") {
    const stray = jwtVariables.find((name) => e[name]);
    if (stray) throw invalid(stray, "is read only with AUTH_MODE=jwt; set AUTH_MODE=jwt or unset it");
    return {
      mode,
      ...(e.AUTH_TOKENS_FILE ? { tokensFile: e.AUTH_TOKENS_FILE } : {}),
      allowInsecure: e.ALLOW_INSECURE,
    };
  }
  if (Boolean(e.AUTH_JWKS_URL) === Boolean(e.AUTH_JWT_PUBLIC_KEY_FILE)) {
    throw invalid(
      "AUTH_JWKS_URL and AUTH_JWT_PUBLIC_KEY_FILE",
      "AUTH_MODE=jwt needs exactly one: the issuer's JWKS URL, or a public key file (PEM, JWK or JWKS)",
    );
  }
  if (e.AUTH_JWKS_URL) checkJwksUrl(e.AUTH_JWKS_URL);
  if (!e.AUTH_JWT_ISSUER)
    throw invalid("AUTH_JWT_ISSUER", "AUTH_MODE=jwt needs it: the `iss` every JWT must carry");
  if (!e.AUTH_JWT_AUDIENCE) {
    throw invalid(
      "AUTH_JWT_AUDIENCE",
      "AUTH_MODE=jwt needs it: the `aud` every JWT must carry (pa's name at the issuer)",
    );
  }
  return {
    mode,
    ...(e.AUTH_TOKENS_FILE ? { tokensFile: e.AUTH_TOKENS_FILE } : {}),
    jwt: {
      keys: e.AUTH_JWKS_URL ? { jwksUrl: e.AUTH_JWKS_URL } : { publicKeyFile: e.AUTH_JWT_PUBLIC_KEY_FILE },
      issuer: e.AUTH_JWT_ISSUER,
      audience: e.AUTH_JWT_AUDIENCE,
    },
    ...(e.AUTH_TENANT_CLAIM ? { tenantClaim: e.AUTH_TENANT_CLAIM } : {}),
    allowInsecure: e.ALLOW_INSECURE,
  };
}

// Keys fetched over plain HTTP from another host could be swapped by anyone on the path.
function checkJwksUrl(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid("AUTH_JWKS_URL", `must be a URL (got ${JSON.stringify(value)})`);
  }
  if (url.protocol === "https:") return;
  if (url.protocol === "http:" && isLoopback(url.hostname.replace(/^\[|\]$/g, ""))) return;
  throw invalid(
    "AUTH_JWKS_URL",
    `must be an https:// URL (http:// only on loopback); got ${JSON.stringify(value)}`,
  );
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

// Secure by default: nobody proves who they are with AUTH_MODE=none and no mTLS, so only this
// machine may connect unless ALLOW_INSECURE says otherwise in words.
function listenHost(host: string | undefined, auth: AuthConfig, mtls: boolean): string {
  const open = auth.mode === "none" && !mtls;
  if (!open) return host ?? "0.0.0.0";
  if (host === undefined) return "127.0.0.1";
  if (!isLoopback(host) && !auth.allowInsecure) {
    throw invalid(
      "GRPC_HOST",
      `${JSON.stringify(host)} is not a loopback address, and with AUTH_MODE=none anyone reaching it could read ` +
        "every payment. Set AUTH_MODE=token or jwt (or TLS_CLIENT_CA), or ALLOW_INSECURE=true to accept that",
    );
  }
  return host;
}

// The PoC's rule, with one fix: KAFKA_SSL without SASL credentials means TLS alone (the PoC asked for
// SASL_SSL with no credentials, which no broker accepts). Half a SASL setting is refused: the PoC
// dropped SASL silently and connected without it.
function kafkaSecurity(
  ssl: boolean,
  mechanism: (typeof SASL_MECHANISMS)[number] | undefined,
  username: string,
  password: string,
): KafkaSecurity {
  if (Boolean(username) !== Boolean(password)) {
    throw new ConfigError(
      `invalid configuration:\n  KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD: only ${username ? "the username" : "the password"} is set; ` +
        "set both to connect with SASL, or neither to connect without it",
    );
  }
  if (mechanism && !username) {
    throw new ConfigError(
      `invalid configuration:\n  KAFKA_SASL_MECHANISM: ${mechanism} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD; ` +
        "set them, or unset KAFKA_SASL_MECHANISM to connect without SASL",
    );
  }
  const sasl = username ? { mechanism: mechanism ?? "PLAIN", username, password } : undefined;
  if (ssl) return sasl ? { protocol: "sasl_ssl", sasl } : { protocol: "ssl" };
  return sasl ? { protocol: "sasl_plaintext", sasl } : { protocol: "plaintext" };
}

// Read and parsed here, so that a wrong path, a file pa may not read or a key that does not belong
// to the certificate stops pa with exit 2 before it listens. Error texts name the files, never
// their contents.
function checkTlsFiles(certFile: string, keyFile: string): void {
  const fail = (name: string, problem: string) =>
    new ConfigError(`invalid configuration:\n  ${name}: ${problem}`);
  const read = (name: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw fail(name, code === "ENOENT" ? `no file at ${file}` : `cannot read ${file} (${code ?? "error"})`);
    }
  };
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(read("TLS_CERT", certFile));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw fail("TLS_CERT", `${certFile} is not a PEM certificate`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(read("TLS_KEY", keyFile));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw fail("TLS_KEY", `${keyFile} is not an unencrypted PEM private key`);
  }
  if (!certificate.checkPrivateKey(key)) {
    throw fail("TLS_KEY", `${keyFile} is not the private key of the certificate in ${certFile}`);
  }
}

// The embedded store creates DATA_DIR when missing; what it cannot do is write where it may not.
function checkDataDir(dataDir: string): void {
  let existing = path.resolve(dataDir);
  while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const problem = !statSync(existing).isDirectory()
    ? `${existing} is not a directory`
    : !writable(existing)
      ? `pa may not write to ${existing}`
      : undefined;
  if (problem) {
    throw new ConfigError(
      `invalid configuration:\n  DATA_DIR: ${problem}; name a directory pa can write to (the embedded store keeps its file there)`,
    );
  }
}

function writable(directory: string): boolean {
  try {
    accessSync(directory, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
