// A real pa in-process, like test/support/pa.ts's startPa, whose log lines the test can read: the
// resilience tests check that breaker transitions and pauses are logged, once each.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { startApp } from "../../../server/app.js";
import { parseConfig } from "../../../server/config/config.js";
import { createLogger } from "../../../server/observability/logger.js";
import type { RunningPa } from "../../support/pa.js";

export interface LoggedPa extends RunningPa {
  /** Every log message so far, in order. */
  messages: string[];
}

export async function startPaWithLogs(
  bootstrap: string,
  env: Record<string, string> = {},
): Promise<LoggedPa> {
  const config = parseConfig({
    KAFKA_BROKERS: bootstrap,
    KAFKA_GROUP_ID: `test-${randomBytes(4).toString("hex")}`,
    KAFKA_TOPIC: "",
    // Ad-hoc topics, processed as pinned ones are (see test/support/pa.ts).
    TOPIC_ALLOWLIST: "*",
    PROCESS_TOPICS: "*",
    DATA_DIR: mkdtempSync(join(tmpdir(), "pa-test-data-")),
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: "0",
    STREAM_LINGER: "500ms",
    SHUTDOWN_TIMEOUT: "3s",
    LOG_LEVEL: "info",
    LOG_FORMAT: "json",
    ...env,
  });
  const messages: string[] = [];
  const echo = process.env.PA_TEST_LOG_LEVEL !== undefined;
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) {
        if (!line) continue;
        const msg = String(JSON.parse(line).msg);
        messages.push(msg);
        if (echo) process.stderr.write(`${line}\n`);
      }
      done();
    },
  });
  const app = await startApp(config, createLogger(config.log, destination));
  await app.ready;
  const port = app.address.port;
  return { app, config, port, baseUrl: `http://127.0.0.1:${port}`, stop: () => app.stop(), messages };
}
