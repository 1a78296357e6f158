// Builds pa from a validated config: Kafka clients, store, stream hub, RPC routes and the one-port
// server. Tests call startApp() in-process on port 0; server/main.ts adds signals and the process.
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { createValidator } from "@bufbuild/protovalidate";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import { createValidateInterceptor } from "@connectrpc/validate";
import { ExponentialBackoff, handleAll, retry } from "cockatiel";
import { file_grpc_health_v1_health } from "../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ServerReflectionV1 } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import {
  DeadLetterService,
  file_pa_admin_v1_dead_letter_service,
} from "../gen/pa/admin/v1/dead_letter_service_pb.js";
import { file_payment_payment, PaymentService } from "../gen/payment/payment_pb.js";
import { auditInterceptor } from "./admin/audit-log.js";
import { registerDeadLetterService } from "./admin/dead-letter-service.js";
import { Access } from "./auth/access.js";
import { authenticationInterceptor } from "./auth/authentication-interceptor.js";
import { Authenticator } from "./auth/authenticator.js";
import { clientCertificateKey, clientCertificateOf } from "./auth/client-certificate.js";
import { JwtVerifier } from "./auth/jwt-verifier.js";
import { TokensFile } from "./auth/tokens-file.js";
import type { Config } from "./config/config.js";
import { corsHandler } from "./http/cors.js";
import { serveHealthEndpoints } from "./http/health-endpoints.js";
import { type HttpIdentify, serveMetrics } from "./http/metrics-endpoint.js";
import { MetricsListener } from "./http/metrics-listener.js";
import { OnePortServer } from "./http/one-port-server.js";
import { guardRequestSize } from "./http/oversized-requests.js";
import { staticFiles } from "./http/static-files.js";
import { connectionConfig } from "./kafka/client-config.js";
import { ConsumerFactory } from "./kafka/consumer-factory.js";
import { ConsumerPool, kafkaRecordSource } from "./kafka/consumer-pool.js";
import { GroupMembership } from "./kafka/group-membership.js";
import { TopicAdmin } from "./kafka/topic-admin.js";
import { connectionKey, peerAddressKey } from "./limits/caller.js";
import { limitsInterceptor } from "./limits/limits-interceptor.js";
import { RequestRate } from "./limits/request-rate.js";
import { StreamSlots } from "./limits/stream-slots.js";
import type { Logger } from "./observability/logger.js";
import { PaMetrics } from "./observability/metrics.js";
import { rpcMetricsInterceptor } from "./observability/rpc-metrics-interceptor.js";
import { RpcObserver } from "./observability/rpc-observer.js";
import { Tracing } from "./observability/tracing.js";
import { GuardedDeadLetterProducer } from "./resilience/guarded-dead-letter-producer.js";
import { GuardedPaymentStore } from "./resilience/guarded-payment-store.js";
import { ProcessingResilience } from "./resilience/processing-resilience.js";
import { errorMappingInterceptor } from "./rpc/error-mapping.js";
import { HealthStatus, registerHealth } from "./rpc/health-service.js";
import { NativeGrpcStreams } from "./rpc/native-grpc-streams.js";
import { registerPaymentService } from "./rpc/payment-service.js";
import { PaymentStreams } from "./rpc/payment-streams.js";
import { fileRegistryOf, registerReflection } from "./rpc/reflection-service.js";
import { rpcAdapter } from "./rpc/rpc-adapter.js";
import { describeStore, openStore } from "./store/open-store.js";
import type { PaymentStore } from "./store/payment-store.js";
import { PaymentEventEncoder } from "./streaming/payment-event-encoder.js";
import { StreamHub } from "./streaming/stream-hub.js";
import { UnprocessedPartitions } from "./streaming/unprocessed-partitions.js";

export interface App {
  address: AddressInfo;
  /** Resolves once Kafka is connected and pinned topics are starting. */
  ready: Promise<void>;
  hub: StreamHub;
  /**
   * Reads AUTH_TOKENS_FILE again (SIGHUP): open streams stay, the next call of a revoked key fails.
   * Keeps the tokens in use when the file is bad; returns whether it reloaded.
   */
  reloadTokens(): boolean;
  /** METRICS_PORT's listener, when configured. */
  metricsAddress?: AddressInfo;
  /** OpenTelemetry tracing (off, with the no-op tracer, unless OTEL_EXPORTER_OTLP_ENDPOINT is set). */
  tracing: Tracing;
  /** Every open streaming call holds one (MAX_STREAMS and its per-connection and per-caller parts). */
  streamSlots: StreamSlots;
  stop(): Promise<void>;
}

/** How pa is built besides its config: for tests that start pa in-process. */
export interface AppOptions {
  /**
   * Wraps the store the view writes through (its reads stay direct): a test holds the view back
   * with it to show what clients see while the store lags behind the stream.
   */
  viewStore?: (store: PaymentStore) => PaymentStore;
}

const READINESS_PROBE_INTERVAL_MS = 5_000;
// Bidirectional calls: their request body lasts as long as the call, so no body deadline.
const STREAMED_REQUEST_PATHS = new Set(
  [ServerReflectionV1, ServerReflectionV1alpha].map(
    (service) => `/${service.typeName}/${service.method.serverReflectionInfo.name}`,
  ),
);
const RETENTION_INTERVAL_MS = 60_000;
// An owner commits its view's position every 500 ms while it stores: six missed rounds with records
// waiting, and nobody processes the partition. Below the shortest session (6 s by default), so a
// killed instance's partitions are reported before the group moves them.
const STALLED_COMMIT_MS = 3_000;
const GROUP_SAMPLE_INTERVAL_MS = 1_000;

/** Throws ConfigError (exit 2) for a bad AUTH_TOKENS_FILE or AUTH_JWT_PUBLIC_KEY_FILE, before opening anything. */
export async function startApp(config: Config, logger: Logger, options: AppOptions = {}): Promise<App> {
  const tokens = config.auth.tokensFile ? new TokensFile(config.auth.tokensFile, logger) : undefined;
  const mtls = config.server.tls?.clientCaFile !== undefined;
  const authenticator = new Authenticator({
    mode: config.auth.mode,
    ...(tokens ? { tokens } : {}),
    ...(config.auth.mode === "jwt" ? { jwt: JwtVerifier.create(config.auth) } : {}),
    mtls,
  });
  const metrics = new PaMetrics();
  const tracing = await Tracing.start({
    ...(config.observability.otlpEndpoint ? { endpoint: config.observability.otlpEndpoint } : {}),
    serviceName: config.observability.serviceName,
  });
  if (tracing.enabled) logger.info(`[MANAGER] Tracing to ${config.observability.otlpEndpoint}`);
  const observer = new RpcObserver(metrics, tracing);
  // Who reads /metrics from off the host: the caller the authenticator makes of the request (with
  // AUTH_MODE=none, ANONYMOUS, which has the `metrics` grant).
  const identifyHttp: HttpIdentify = (request) =>
    authenticator.authenticate({
      authorization: request.headers?.authorization,
      certificate: mtls ? clientCertificateOf(request.socket) : undefined,
    });
  const settings = connectionConfig(config.kafka);
  const admin = new TopicAdmin(settings);
  const store = await openStore(config.store, logger);
  logger.info(`[STORE] Using ${describeStore(config.store)}`);
  // Retry and a circuit breaker per dependency of the processing path (server/resilience).
  const resilience = new ProcessingResilience(config.resilience, describeStore(config.store), logger);
  const deadLetters = new GuardedDeadLetterProducer(settings, admin, resilience.deadLetterTopic, {
    retries: config.resilience.poisonRetries,
    initialDelayMs: config.resilience.retryInitialDelayMs,
    logger,
  });
  const consumers = new ConsumerFactory(settings, config.kafka.groupId);
  const pool = new ConsumerPool(config.kafka.consumerPoolSize, consumers, logger);
  // Several pa instances share the processing of the pinned topics through the consumer group.
  const membership =
    config.kafka.shareProcessing && config.kafka.pinnedTopics.length > 0
      ? new GroupMembership(
          consumers,
          config.kafka.pinnedTopics,
          {
            sessionTimeoutMs: config.kafka.sessionTimeoutMs,
            heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
            memberName: `pa-${hostname()}-${process.pid}`,
          },
          logger,
        )
      : undefined;
  const unprocessed: UnprocessedPartitions | undefined = membership
    ? new UnprocessedPartitions(
        {
          // A short wait: each call holds a libuv thread while librdkafka asks the coordinator, and
          // a frozen-then-thawed instance piled 10 s calls up until its shutdown could not finish.
          committedOffsets: (topic, partitions) =>
            hub.groupCommits(topic, partitions, GROUP_SAMPLE_INTERVAL_MS),
          // The hub is built below; the sampler starts once Kafka is connected.
          ends: (topic): number[] | undefined => hub.partitionEnds(topic),
          assignments: (topic) => admin.assignments(config.kafka.groupId, topic),
          reachable: () => kafkaConnected && kafkaProblem === undefined,
        },
        {
          topics: config.kafka.pinnedTopics,
          stalledAfterMs: STALLED_COMMIT_MS,
          intervalMs: GROUP_SAMPLE_INTERVAL_MS,
        },
        logger,
      )
    : undefined;
  const rules = { amountUnits: config.payments.amountUnits };
  const hub = new StreamHub({
    ...(membership ? { membership } : {}),
    ...(unprocessed ? { unprocessed } : {}),
    config,
    source: kafkaRecordSource(pool, consumers),
    admin,
    store: new GuardedPaymentStore(options.viewStore?.(store) ?? store, resilience.store),
    deadLetters,
    rules,
    logger,
    metrics,
    tracing,
  });
  const health = new HealthStatus();
  health.set("", "NOT_SERVING");
  health.set(PaymentService.typeName, "NOT_SERVING");

  let kafkaConnected = false;
  let kafkaProblem: string | undefined = `not yet connected to Kafka at ${config.kafka.brokers}`;
  let storeProblem: string | undefined;
  const readiness = {
    notReadyReasons: () =>
      [kafkaProblem, storeProblem, ...resilience.notReadyReasons()].filter(
        (reason): reason is string => reason !== undefined,
      ),
    viewLag: () =>
      Object.fromEntries(
        hub
          .topicStatuses()
          .flatMap((status) => (status.viewLag === undefined ? [] : [[status.topic, status.viewLag]])),
      ),
    commitLag: () =>
      Object.fromEntries(
        hub
          .topicStatuses()
          .flatMap((status) => (status.commitLag === undefined ? [] : [[status.topic, status.commitLag]])),
      ),
    processedPartitions: () =>
      Object.fromEntries(
        hub
          .topicStatuses()
          .flatMap((status) => (status.readOnly ? [] : [[status.topic, status.processedPartitions]])),
      ),
    unprocessedPartitions: () =>
      Object.fromEntries(
        hub.topicStatuses().flatMap((status) =>
          status.unprocessedPartitions.length === 0
            ? []
            : [
                [
                  status.topic,
                  status.unprocessedPartitions.map(({ sinceMs, ...partition }) => ({
                    ...partition,
                    stalledSince: new Date(sinceMs).toISOString(),
                  })),
                ],
              ],
        ),
      ),
  };
  // An open breaker pauses topics: the whole server is not serving until it closes again.
  resilience.onStateChange(() => {
    if (kafkaConnected && !kafkaProblem) health.set("", resilience.allClosed() ? "SERVING" : "NOT_SERVING");
  });

  // Payment RPCs need Kafka; until it is connected they answer UNAVAILABLE instead of hanging.
  const unavailableReason = () =>
    kafkaConnected ? undefined : `pa is starting: waiting for Kafka at ${config.kafka.brokers}`;
  const requireKafka: Interceptor = (next) => async (request) => {
    const needsKafka =
      request.service.typeName === PaymentService.typeName ||
      request.service.typeName === DeadLetterService.typeName;
    const unavailable = needsKafka ? unavailableReason() : undefined;
    if (unavailable) throw new ConnectError(unavailable, Code.Unavailable);
    return next(request);
  };

  // What each caller may see and do: TOPIC_ALLOWLIST, its grants, its tenant, PII masking.
  const access = new Access({ topicAllowlist: config.streams.topicAllowlist, ...config.access });
  const streamSlots = new StreamSlots({
    total: config.server.maxStreams,
    perConnection: config.server.maxStreamsPerConnection,
    perCaller: config.server.maxStreamsPerIdentity,
  });
  const requestRate = new RequestRate(config.server.maxRequestsPerSecond);
  const paymentStreams = new PaymentStreams({
    hub,
    store,
    access,
    streams: config.streams,
    slots: streamSlots,
    tracing,
  });
  // One validator for both paths: it compiles each message's buf.validate rules once.
  const validator = createValidator();
  const nativeGrpcStreams = new NativeGrpcStreams({
    streams: paymentStreams,
    encoder: new PaymentEventEncoder(),
    logger,
    observer,
    unavailableReason,
    validator,
    authenticate: (request) =>
      authenticator.authenticate({
        authorization: request.headers.authorization,
        certificate: mtls ? clientCertificateOf(request.stream.session?.socket) : undefined,
      }),
    maxRequestBytes: config.server.maxRequestBytes,
    rate: requestRate,
  });

  const routes = (router: ConnectRouter) => {
    registerPaymentService(router, { hub, store, streams: paymentStreams, access });
    registerDeadLetterService(router, {
      admin,
      settings,
      access,
      logger,
      cacheRecords: config.admin.deadLetterCacheRecords,
      tracing,
    });
    registerHealth(router, health);
    registerReflection(router, {
      registry: fileRegistryOf(
        file_payment_payment,
        file_grpc_health_v1_health,
        file_pa_admin_v1_dead_letter_service,
      ),
      serviceNames: [PaymentService.typeName, DeadLetterService.typeName, "grpc.health.v1.Health"],
    });
  };

  // The built dashboard (web/dist), when there is one, at "/".
  const dashboard = staticFiles();
  const cors = corsHandler(config.access.corsOrigins);
  const handler = rpcAdapter({
    routes,
    logger,
    // Bounds every message before and after decompression (Connect's default is 4 GiB); gzip and
    // brotli stop inflating as soon as the output passes it.
    readMaxBytes: config.server.maxRequestBytes,
    // Outermost first: the RPC metrics and the audit log see the code the client gets, after error
    // mapping; authentication comes before what needs the caller (the limits count against it).
    interceptors: [
      rpcMetricsInterceptor(observer),
      auditInterceptor(logger),
      errorMappingInterceptor(logger),
      authenticationInterceptor(authenticator, {
        streamsEndingThemselves: [PaymentService.method.streamPayments],
      }),
      createValidateInterceptor({ validator }),
      requireKafka,
      limitsInterceptor(requestRate, streamSlots),
    ],
    // HTTP/2's compatibility request hands out a new socket proxy per request: the session is what
    // identifies the connection there, and its socket holds the peer's address and TLS certificate.
    contextValues: (request) => {
      const connection = "stream" in request ? request.stream.session : request.socket;
      const socket = "stream" in request ? request.stream.session?.socket : request.socket;
      const values = createContextValues()
        .set(connectionKey, connection)
        .set(peerAddressKey, socket?.remoteAddress);
      if (!mtls) return values;
      return values.set(clientCertificateKey, clientCertificateOf(socket));
    },
    fallback: (request, response) => {
      if (serveHealthEndpoints(request, response, readiness)) return;
      if (serveMetrics(request, response, metrics, identifyHttp)) return;
      if (dashboard(request, response)) return;
      response.writeHead(404, { "content-type": "text/plain" });
      response.end(`no route for ${request.method} ${request.url}\n`);
    },
  });

  const server = new OnePortServer({
    host: config.server.host,
    port: config.server.port,
    ...(config.server.tls
      ? {
          tls: {
            certFile: config.server.tls.certFile,
            keyFile: config.server.tls.keyFile,
            // With AUTH_MODE=none the certificate is the only credential: the handshake demands it.
            ...(config.server.tls.clientCaFile
              ? { clientCa: { file: config.server.tls.clientCaFile, required: config.auth.mode === "none" } }
              : {}),
          },
        }
      : {}),
    headersTimeoutMs: config.server.headersTimeoutMs,
    bodyTimeoutMs: config.server.bodyTimeoutMs,
    streamsRequestBody: (request) => STREAMED_REQUEST_PATHS.has(request.url ?? ""),
    maxConnections: config.server.maxConnections,
    maxStreamsPerConnection: config.server.maxStreamsPerConnection,
    // Plain gRPC StreamPayments calls take the native path; everything else goes to Connect.
    handler: (request, response) => {
      if (cors(request, response)) return;
      guardRequestSize(request, response, config.server.maxRequestBytes, () => {
        const native =
          "stream" in request &&
          nativeGrpcStreams.handle(request as Http2ServerRequest, response as Http2ServerResponse);
        if (!native) handler(request, response);
      });
    },
  });
  const address = await server.listen();
  tokens?.start();
  metrics.observe({
    feeds: () => hub.activeFeeds(),
    streamCount: () => hub.streamCount,
    connectionCount: () => server.connectionCount,
    breakers: () => resilience.guards.map((guard) => ({ dependency: guard.name, state: guard.state })),
    unprocessedPartitions: (topic) => unprocessed?.of(topic).length ?? 0,
  });
  const { metricsPort } = config.observability;
  const metricsListener =
    metricsPort !== undefined
      ? new MetricsListener(config.server.host, metricsPort, metrics, readiness)
      : undefined;
  const metricsAddress = await metricsListener?.listen();

  let stopping = false;
  const connectPolicy = retry(handleAll, {
    maxAttempts: Number.POSITIVE_INFINITY,
    backoff: new ExponentialBackoff({ initialDelay: 500, maxDelay: 10_000 }),
  });
  connectPolicy.onRetry(({ delay, ...outcome }) => {
    const error = "error" in outcome ? outcome.error : undefined;
    logger.warn(
      `[MANAGER] Kafka not reachable at ${config.kafka.brokers} (${String(error)}); retrying in ${Math.round(delay)}ms`,
    );
  });
  // stop() aborts the retries' wait and lets an attempt under way finish, so that every client it
  // connected is disconnected: exiting with a live librdkafka client crashed pa in OpenSSL's exit
  // handlers (SIGSEGV) when SIGTERM came while pa was still connecting.
  const connecting = new AbortController();
  const ready = connectPolicy
    .execute(async () => {
      if (stopping) return;
      await admin.connect();
      await admin.listTopics();
      await deadLetters.connect();
      await pool.connect();
      await membership?.connect();
    }, connecting.signal)
    .then(() => {
      if (stopping) return;
      kafkaConnected = true;
      kafkaProblem = undefined;
      health.set("", "SERVING");
      health.set(PaymentService.typeName, "SERVING");
      hub.startPinnedTopics();
      unprocessed?.start();
      logger.info(`[MANAGER] Connected to Kafka at ${config.kafka.brokers}`);
    })
    .catch((error: unknown) => {
      // Only stop() ends the endless retries, by cancelling them; that is not a failure.
      if (!stopping) throw error;
    });

  // Readiness follows the broker and the store: periodic checks, off the message path.
  const probe = setInterval(() => {
    store.ping().then(
      () => {
        if (storeProblem) logger.info(`[STORE] ${describeStore(config.store)} available again`);
        storeProblem = undefined;
      },
      (error: unknown) => {
        if (!storeProblem)
          logger.warn(`[STORE] ${describeStore(config.store)} unavailable: ${String(error)}`);
        storeProblem = `the payment store (${describeStore(config.store)}) is unavailable: ${String(error)}`;
      },
    );
    if (!kafkaConnected) return;
    admin.listTopics().then(
      () => {
        if (kafkaProblem) logger.info(`[MANAGER] Kafka at ${config.kafka.brokers} reachable again`);
        kafkaProblem = undefined;
        health.set("", resilience.allClosed() ? "SERVING" : "NOT_SERVING");
      },
      (error: unknown) => {
        if (!kafkaProblem)
          logger.warn(`[MANAGER] Kafka at ${config.kafka.brokers} not reachable: ${String(error)}`);
        kafkaProblem = `Kafka at ${config.kafka.brokers} is not reachable: ${String(error)}`;
        health.set("", "NOT_SERVING");
      },
    );
  }, READINESS_PROBE_INTERVAL_MS);
  probe.unref();

  const retention = setInterval(() => {
    store.enforceRetention(Date.now()).then(
      (deleted) => {
        if (deleted > 0) logger.info(`[STORE] Retention removed ${deleted} payments`);
      },
      (error: unknown) => logger.warn({ err: error }, "[STORE] retention failed; trying again later"),
    );
  }, RETENTION_INTERVAL_MS);
  retention.unref();

  return {
    address,
    ready,
    hub,
    reloadTokens: () => tokens?.reload() ?? false,
    tracing,
    ...(metricsAddress ? { metricsAddress } : {}),
    streamSlots,
    async stop() {
      stopping = true;
      tokens?.stop();
      clearInterval(probe);
      clearInterval(retention);
      unprocessed?.stop();
      health.set("", "NOT_SERVING");
      health.set(PaymentService.typeName, "NOT_SERVING");
      hub.endStreams("pa is shutting down");
      connecting.abort();
      await server.close(config.server.shutdownTimeoutMs);
      await ready;
      await hub.stopFeeds();
      // After the feeds' last commits, which go through it; leaving hands the partitions over.
      await membership?.stop();
      // Each is a no-op for a client that never connected.
      await pool.stop();
      await deadLetters.disconnect();
      await admin.disconnect();
      await store.close();
      await metricsListener?.close();
      // Last: the spans of the final batches are exported before pa exits.
      await tracing.stop();
    },
  };
}
