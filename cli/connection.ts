// How pa-cli reaches pa: native gRPC over HTTP/2 (connect-node's gRPC transport), plaintext or
// TLS, with the token as a bearer credential on every call.
import { readFileSync } from "node:fs";
import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { UsageError } from "./cli-errors.js";

/** The options every command shares (declared on the program in pa-cli.ts). */
export interface GlobalOptions {
  /** host:port, or a http(s):// URL. */
  server: string;
  tls?: boolean;
  /** A PEM file of the CA that signed pa's certificate, for a private CA. */
  ca?: string;
  token?: string;
  json?: boolean;
}

export interface Connection {
  /** What to call the server in messages: the address as the user gave it. */
  readonly address: string;
  readonly baseUrl: string;
  client<S extends DescService>(service: S): Client<S>;
}

export function serverBaseUrl(server: string, tls: boolean): string {
  const text = server.trim();
  const hasScheme = /^[a-z]+:\/\//i.test(text);
  const withScheme = hasScheme ? text : `${tls ? "https" : "http"}://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--server "${server}" is not host:port (e.g. localhost:50051)`);
  }
  if (
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    url.pathname !== "/" ||
    (!hasScheme && !url.port)
  ) {
    throw new UsageError(
      `--server "${server}" is not host:port (e.g. localhost:50051 or https://pa.example:443)`,
    );
  }
  if (tls && url.protocol === "http:") url.protocol = "https:";
  return url.origin;
}

function bearerToken(token: string): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
}

export function openConnection(options: GlobalOptions): Connection {
  const baseUrl = serverBaseUrl(options.server, Boolean(options.tls));
  let ca: Buffer | undefined;
  if (options.ca) {
    try {
      ca = readFileSync(options.ca);
    } catch (error) {
      throw new UsageError(`--ca: cannot read ${options.ca} (${(error as Error).message})`);
    }
  }
  const transport: Transport = createGrpcTransport({
    baseUrl,
    interceptors: options.token ? [bearerToken(options.token)] : [],
    // Pings keep a quiet stream's connection alive through proxies and notice a dead peer.
    pingIntervalMs: 15_000,
    pingTimeoutMs: 10_000,
    ...(ca ? { nodeOptions: { ca } } : {}),
  });
  return {
    address: options.server,
    baseUrl,
    client: (service) => createClient(service, transport),
  };
}
