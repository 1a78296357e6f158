// Credentials for tests of authentication: tokens files, bearer interceptors, and curl as users
// run it.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { PaymentService, StreamStart } from "../../gen/payment/payment_pb.js";
import { pocClient } from "./clients.js";
import { ourProtoPath, pocLoaderOptions } from "./poc-proto.js";

const run = promisify(execFile);

export interface TokenEntryInput {
  name: string;
  scope: string;
  tenant?: string;
  sha256?: string;
  subject?: string;
}

/** A fresh random API key, as an operator would make one (e.g. `openssl rand -hex 32`). */
export function newApiKey(): string {
  return randomBytes(32).toString("hex");
}

export function sha256Hex(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function writeTokensFile(path: string, entries: TokenEntryInput[]): void {
  writeFileSync(path, JSON.stringify(entries, null, 2));
}

/** Sends `authorization: Bearer <credential>` on every call, as pa-cli does. */
export function bearer(credential: string): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${credential}`);
    return next(request);
  };
}

/** A Connect-protocol unary call with curl (JSON); resolves with the HTTP status and body. */
export async function curlConnect(
  baseUrl: string,
  procedure: string,
  body: unknown,
  options: { headers?: Record<string, string>; args?: string[] } = {},
): Promise<{ status: number; body: string }> {
  const headerArgs = Object.entries(options.headers ?? {}).flatMap(([name, value]) => [
    "-H",
    `${name}: ${value}`,
  ]);
  const { stdout } = await run("curl", [
    "-sS",
    "-X",
    "POST",
    "-H",
    "content-type: application/json",
    ...headerArgs,
    ...(options.args ?? []),
    "--data",
    JSON.stringify(body),
    "-w",
    "\n%{http_code}",
    `${baseUrl}/${procedure}`,
  ]);
  const split = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(split + 1)), body: stdout.slice(0, split) };
}

/** How a call ended: "ok", or the gRPC/Connect code's name (e.g. "Unauthenticated"), and its message. */
export interface Outcome {
  code: string;
  message: string;
}

const OK: Outcome = { code: "ok", message: "" };

function outcomeOf(error: unknown): Outcome {
  const connectError = ConnectError.from(error);
  return { code: Code[connectError.code], message: connectError.rawMessage };
}

// Read as grpc-js gives it: pa encodes grpc-message as the gRPC spec says (server/rpc/grpc-message.ts).
function grpcOutcome(error: grpc.ServiceError): Outcome {
  return { code: Code[error.code] ?? String(error.code), message: error.details };
}

export type Caller = (credential?: string) => Promise<Outcome>;

/** PEM files for clients of a TLS port: the CA that signed pa's certificate, and a client certificate. */
export interface ClientTls {
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

function grpcJsClient(port: number, tls: ClientTls | undefined) {
  if (!tls) return pocClient(port, ourProtoPath);
  const definition = protoLoader.loadSync(ourProtoPath, pocLoaderOptions);
  // biome-ignore lint/suspicious/noExplicitAny: proto-loader clients are untyped, as in the PoC.
  const loaded = grpc.loadPackageDefinition(definition) as any;
  const credentials = grpc.credentials.createSsl(
    readFileSync(tls.caFile),
    tls.keyFile ? readFileSync(tls.keyFile) : null,
    tls.certFile ? readFileSync(tls.certFile) : null,
  );
  return new loaded.payment.PaymentService(`127.0.0.1:${port}`, credentials);
}

/**
 * One call per kind of client pa serves, each sending the credential (when given) the way that
 * client's users do: grpc-js metadata, connect-node's gRPC, Connect and gRPC-Web transports, curl.
 * Streams read `topic` from its start and succeed on their first event.
 */
export function everyClient(
  baseUrl: string,
  port: number,
  topic: string,
  tls?: ClientTls,
): Record<string, Caller> {
  const nodeOptions = tls
    ? {
        ca: readFileSync(tls.caFile),
        ...(tls.certFile ? { cert: readFileSync(tls.certFile) } : {}),
        ...(tls.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
      }
    : undefined;
  const connectClient = (kind: "grpc" | "connect" | "grpc-web", credential?: string) => {
    const interceptors = credential ? [bearer(credential)] : [];
    const options = { baseUrl, interceptors, ...(nodeOptions ? { nodeOptions } : {}) };
    const transport =
      kind === "grpc"
        ? createGrpcTransport(options)
        : kind === "connect"
          ? createConnectTransport({ ...options, httpVersion: "1.1" })
          : createGrpcWebTransport({ ...options, httpVersion: "1.1" });
    return createClient(PaymentService, transport);
  };
  const unary =
    (kind: "grpc" | "connect" | "grpc-web"): Caller =>
    async (credential) => {
      try {
        await connectClient(kind, credential).getTopics({});
        return OK;
      } catch (error) {
        return outcomeOf(error);
      }
    };
  const stream =
    (kind: "grpc" | "connect" | "grpc-web"): Caller =>
    async (credential) => {
      const controller = new AbortController();
      try {
        const events = connectClient(kind, credential).streamPayments(
          { topic, startPosition: { case: "start", value: StreamStart.EARLIEST }, existingLimit: 0 },
          { signal: controller.signal },
        );
        for await (const _ of events) return OK;
        return { code: "ended", message: "the stream ended without an event" };
      } catch (error) {
        return outcomeOf(error);
      } finally {
        controller.abort();
      }
    };
  const grpcJs =
    (method: "GetTopics" | "StreamPayments"): Caller =>
    async (credential) => {
      const client = grpcJsClient(port, tls);
      const metadata = new grpc.Metadata();
      if (credential) metadata.set("authorization", `Bearer ${credential}`);
      try {
        if (method === "GetTopics") {
          return await new Promise<Outcome>((resolve) =>
            client.GetTopics({}, metadata, (error: grpc.ServiceError | null) =>
              resolve(error ? grpcOutcome(error) : OK),
            ),
          );
        }
        const call = client.StreamPayments(
          { topic, start: StreamStart.EARLIEST, existing_limit: 0 },
          metadata,
        );
        return await new Promise<Outcome>((resolve) => {
          call.once("data", () => {
            call.on("error", () => {}); // the cancel below
            call.cancel();
            resolve(OK);
          });
          call.once("error", (error: grpc.ServiceError) => resolve(grpcOutcome(error)));
        });
      } finally {
        client.close();
      }
    };
  return {
    "grpc-js unary": grpcJs("GetTopics"),
    "grpc-js stream (native path)": grpcJs("StreamPayments"),
    "connect-node gRPC unary": unary("grpc"),
    "connect-node gRPC stream (native path)": stream("grpc"),
    "connect-node Connect unary": unary("connect"),
    "connect-node Connect stream": stream("connect"),
    "connect-node gRPC-Web unary": unary("grpc-web"),
    "connect-node gRPC-Web stream": stream("grpc-web"),
    "curl Connect unary": async (credential) => {
      const tlsArgs = tls
        ? [
            "--cacert",
            tls.caFile,
            ...(tls.certFile ? ["--cert", tls.certFile] : []),
            ...(tls.keyFile ? ["--key", tls.keyFile] : []),
          ]
        : [];
      let response: { status: number; body: string };
      try {
        response = await curlConnect(
          baseUrl,
          "payment.PaymentService/GetTopics",
          {},
          { headers: credential ? { authorization: `Bearer ${credential}` } : {}, args: tlsArgs },
        );
      } catch (error) {
        return { code: "curl failed", message: String((error as { stderr?: string }).stderr ?? error) };
      }
      if (response.status === 200) return OK;
      const error = JSON.parse(response.body) as { code: string; message: string };
      // Connect's JSON codes are snake_case names of the same codes.
      const code = Object.keys(Code).find((name) => name.toLowerCase() === error.code.replaceAll("_", ""));
      return { code: code ?? error.code, message: `HTTP ${response.status}: ${error.message}` };
    },
  };
}
