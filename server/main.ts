// pa's entry point: configuration, logging, the app, and the process's signals. Exits 2 on a bad
// configuration, 0 after a graceful shutdown.

import { startApp } from "./app.js";
import { ConfigError, loadConfig } from "./config/config.js";
import { threadpoolWarning } from "./kafka/threadpool.js";
import { createLogger } from "./observability/logger.js";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`pa: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.log);
  process.on("unhandledRejection", (reason) => logger.error({ err: reason }, "unhandled rejection"));
  const threadpool = threadpoolWarning(config);
  if (threadpool) logger.warn(threadpool);

  let app: Awaited<ReturnType<typeof startApp>>;
  try {
    app = await startApp(config, logger);
  } catch (error) {
    // A bad AUTH_TOKENS_FILE or AUTH_JWT_PUBLIC_KEY_FILE, found when it is first read.
    if (error instanceof ConfigError) {
      process.stderr.write(`pa: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const where = `${config.server.tls ? "https" : "http"}://${app.address.address}:${app.address.port}`;
  logger.info(`pa listening on ${where} (gRPC, gRPC-Web and Connect)`);
  const mtls = config.server.tls?.clientCaFile !== undefined;
  logger.info(
    `[AUTH] AUTH_MODE=${config.auth.mode}${mtls ? " with client certificates (TLS_CLIENT_CA)" : ""}`,
  );
  if (config.auth.mode === "none" && !mtls && config.auth.allowInsecure) {
    logger.warn(
      `[AUTH] ALLOW_INSECURE=true: whoever reaches ${app.address.address}:${app.address.port} reads every payment and may redrive dead letters`,
    );
  }

  // Not process.exit(1): exiting joins libuv's threadpool, and a Kafka client's close that never
  // returns (see GroupMembership.leaveGroup) held an exiting pa there for good. A kill cannot be
  // held up, and loses nothing: the group's offsets move only once the view has stored a record.
  const kill = (why: string) => {
    logger.error(`${why}; killing pa (SIGKILL)`);
    process.kill(process.pid, "SIGKILL");
  };
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      kill(`${signal} again while shutting down`);
      return;
    }
    stopping = true;
    logger.info(`${signal}: shutting down (at most ${config.server.shutdownTimeoutMs} ms)`);
    const force = setTimeout(
      () => kill(`shutdown took longer than SHUTDOWN_TIMEOUT + 5 s`),
      config.server.shutdownTimeoutMs + 5_000,
    );
    force.unref();
    app.stop().then(
      () => {
        logger.info("pa stopped");
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGHUP", () => {
    if (!config.auth.tokensFile) {
      logger.info("SIGHUP: no AUTH_TOKENS_FILE to reload");
      return;
    }
    logger.info(`SIGHUP: reloading ${config.auth.tokensFile}`);
    app.reloadTokens();
  });
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

await main();
