// Starts a real pa in-process on a free port against the real broker, the way server/main.ts does,
// with its own consumer group so tests never share processing state.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type App, type AppOptions, startApp } from "../../server/app.js";
import { type Config, parseConfig } from "../../server/config/config.js";
import { createLogger } from "../../server/observability/logger.js";

export interface RunningPa {
  app: App;
  config: Config;
  baseUrl: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Environment variables as a user would set them. For tests KAFKA_TOPIC defaults to none, every
 * topic is allowed and processed (tests stream ad-hoc topics; pass TOPIC_ALLOWLIST or
 * PROCESS_TOPICS to test pa's own defaults), and DATA_DIR is a fresh temporary folder (pass the
 * same DATA_DIR to restart on the same data).
 */
export async function startPa(
  bootstrap: string,
  env: Record<string, string> = {},
  options: AppOptions = {},
): Promise<RunningPa> {
  const config = parseConfig({
    KAFKA_BROKERS: bootstrap,
    KAFKA_GROUP_ID: `test-${randomBytes(4).toString("hex")}`,
    KAFKA_TOPIC: "",
    TOPIC_ALLOWLIST: "*",
    PROCESS_TOPICS: "*",
    DATA_DIR: mkdtempSync(join(tmpdir(), "pa-test-data-")),
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: "0",
    STREAM_LINGER: "500ms",
    SHUTDOWN_TIMEOUT: "3s",
    LOG_LEVEL: process.env.PA_TEST_LOG_LEVEL ?? "silent",
    LOG_FORMAT: "pretty",
    ...env,
  });
  const app = await startApp(config, createLogger(config.log), options);
  await app.ready;
  const port = app.address.port;
  return { app, config, port, baseUrl: `http://127.0.0.1:${port}`, stop: () => app.stop() };
}
