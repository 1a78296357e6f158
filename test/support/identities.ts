// A pa whose callers have identities: API keys with grants, and clients of every protocol that
// send one as `authorization: Bearer <key>`. Also captures pa's log, for audit and redaction checks.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { DeadLetterService } from "../../gen/pa/admin/v1/dead_letter_service_pb.js";
import { PaymentService } from "../../gen/payment/payment_pb.js";
import { startApp } from "../../server/app.js";
import { parseConfig } from "../../server/config/config.js";
import { createLogger } from "../../server/observability/logger.js";
import { bearer, newApiKey, sha256Hex, writeTokensFile } from "./auth.js";
import type { PaymentClient } from "./clients.js";
import type { RunningPa } from "./pa.js";

export interface TestToken {
  name: string;
  scope: string;
  tenant?: string;
  /** The API key clients send; generated. */
  key: string;
}

/** An API key with these grants, as an operator would issue it. */
export function token(name: string, scope: string, tenant?: string): TestToken {
  return {
    name,
    scope,
    ...(tenant !== undefined ? { tenant } : {}),
    key: newApiKey(),
  };
}

/** AUTH_TOKENS_FILE's content: only each key's sha256 is written, never the key. */
export function tokensFile(tokens: readonly TestToken[]): string {
  const file = join(mkdtempSync(join(tmpdir(), "pa-test-tokens-")), "tokens.json");
  writeTokensFile(
    file,
    tokens.map(({ name, scope, tenant, key }) => ({
      name,
      sha256: sha256Hex(key),
      scope,
      ...(tenant !== undefined ? { tenant } : {}),
    })),
  );
  return file;
}

export interface SecuredPa extends RunningPa {
  /** Every log line so far, as written (JSON). */
  logLines: string[];
}

/** pa in-process in token mode with these API keys, its log captured. */
export async function startSecuredPa(
  bootstrap: string,
  tokens: readonly TestToken[],
  env: Record<string, string> = {},
): Promise<SecuredPa> {
  const config = parseConfig({
    KAFKA_BROKERS: bootstrap,
    KAFKA_GROUP_ID: `test-${randomBytes(4).toString("hex")}`,
    KAFKA_TOPIC: "",
    DATA_DIR: mkdtempSync(join(tmpdir(), "pa-test-data-")),
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: "0",
    STREAM_LINGER: "500ms",
    SHUTDOWN_TIMEOUT: "3s",
    LOG_LEVEL: "debug",
    LOG_FORMAT: "json",
    AUTH_MODE: "token",
    AUTH_TOKENS_FILE: tokensFile(tokens),
    ...env,
  });
  const logLines: string[] = [];
  const echo = process.env.PA_TEST_LOG_LEVEL !== undefined;
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) {
        if (!line) continue;
        logLines.push(line);
        if (echo) process.stderr.write(`${line}\n`);
      }
      done();
    },
  });
  const app = await startApp(config, createLogger(config.log, destination));
  await app.ready;
  const port = app.address.port;
  return { app, config, port, baseUrl: `http://127.0.0.1:${port}`, stop: () => app.stop(), logLines };
}

const withKey = (key: string | undefined): Interceptor[] => (key === undefined ? [] : [bearer(key)]);

export type Protocol = "grpc" | "grpc-web" | "connect";

/** A PaymentService client of the protocol, sending the key (or none). gRPC streams take pa's native path. */
export function paymentClient(baseUrl: string, protocol: Protocol, key?: string): PaymentClient {
  const interceptors = withKey(key);
  switch (protocol) {
    case "grpc":
      return createClient(PaymentService, createGrpcTransport({ baseUrl, interceptors }));
    case "grpc-web":
      return createClient(
        PaymentService,
        createGrpcWebTransport({ baseUrl, useBinaryFormat: true, interceptors }),
      );
    case "connect":
      return createClient(
        PaymentService,
        createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors }),
      );
  }
}

export function deadLetterClient(baseUrl: string, key?: string): Client<typeof DeadLetterService> {
  return createClient(DeadLetterService, createGrpcTransport({ baseUrl, interceptors: withKey(key) }));
}
