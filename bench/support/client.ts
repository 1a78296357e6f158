// The benchmark's gRPC clients: connect-node's gRPC transport over HTTP/2, one connection per
// transport, every event decoded into a PaymentEvent as a real client would.
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { type PaymentEvent, PaymentService } from "../../gen/payment/payment_pb.js";
import type { StreamRequestInit } from "./grpc-stream-reader.js";

export type PaClient = Client<typeof PaymentService>;

/** `count` HTTP/2 connections to pa, each with its own client. */
export class PaConnections {
  readonly clients: PaClient[];
  private readonly sessions: Http2SessionManager[];

  constructor(baseUrl: string, count: number) {
    this.sessions = Array.from({ length: count }, () => new Http2SessionManager(baseUrl));
    this.clients = this.sessions.map((sessionManager) =>
      createClient(PaymentService, createGrpcTransport({ baseUrl, sessionManager })),
    );
  }

  /** The client for the i-th stream: streams are spread evenly over the connections. */
  client(i: number): PaClient {
    return this.clients[i % this.clients.length] as PaClient;
  }

  close(): void {
    for (const session of this.sessions) session.abort();
  }
}

/**
 * Reads one StreamPayments call until it ends or `signal` aborts (a normal end here), calling
 * onEvent with each event and its arrival time. Any other error rejects.
 */
export async function followStream(
  client: PaClient,
  request: StreamRequestInit,
  signal: AbortSignal,
  onEvent: (event: PaymentEvent, arrivalMs: number) => void,
): Promise<void> {
  try {
    for await (const event of client.streamPayments(request, { signal })) onEvent(event, performance.now());
  } catch (error) {
    if (signal.aborted && ConnectError.from(error).code === Code.Canceled) return;
    throw error;
  }
}

/** Polls until the condition holds; throws naming what was awaited if it does not in time. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  intervalMs = 20,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Waits until `done()`, as long as `progress()` keeps growing: gives up (returns false) once it has
 * not grown for `idleMs`, or after `capMs` in all. A slow consumer is waited for; a stalled one is not.
 */
export async function waitWhileProgressing(
  done: () => boolean,
  progress: () => number,
  idleMs: number,
  capMs = 600_000,
): Promise<boolean> {
  const start = performance.now();
  let last = progress();
  let lastChange = start;
  while (!done()) {
    const now = performance.now();
    const current = progress();
    if (current !== last) {
      last = current;
      lastChange = now;
    }
    if (now - lastChange > idleMs || now - start > capMs) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** Subscriber count per active topic, as pa reports it in GetTopics. */
export async function subscriberCounts(client: PaClient): Promise<Map<string, number>> {
  const list = await client.getTopics({});
  return new Map(list.details.map((detail) => [detail.topic, detail.subscribers]));
}
