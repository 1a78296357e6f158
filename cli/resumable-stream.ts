// A StreamPayments call that outlives pa restarts and network trouble: on UNAVAILABLE or a network
// error it waits (exponential backoff with jitter, reset by every event) and calls again from the
// last cursor it holds, so the events it hands on have no gap and no duplicate.

import { setTimeout as sleep } from "node:timers/promises";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { ConnectError } from "@connectrpc/connect";
import { ExponentialBackoff, type IBackoff } from "cockatiel";
import type { ListedSnapshot } from "../client/list-snapshot.js";
import type { PaymentEvent, PaymentService, StreamRequestSchema } from "../gen/payment/payment_pb.js";
import { isTransient } from "./cli-errors.js";

/** The trailer pa sets on a stream it ends (see server/rpc/error-mapping.ts). */
const RESUME_CURSOR_TRAILER = "pa-resume-cursor";

// A refused connection before anything arrived means there is no pa there to wait for.
const NOTHING_LISTENING = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/;

export interface Reconnect {
  attempt: number;
  delayMs: number;
  /** What went wrong, in the server's or the network's words. */
  reason: string;
  /** Whether the next call resumes from a cursor (no gap) or repeats the original request. */
  fromCursor: boolean;
}

export interface ResumableStreamOptions {
  client: Client<typeof PaymentService>;
  request: MessageInitShape<typeof StreamRequestSchema>;
  signal: AbortSignal;
  onEvent(event: PaymentEvent): Promise<void> | void;
  onReconnecting(reconnect: Reconnect): void;
  onReconnected(): void;
  /**
   * Reads the stored payments to show first and the position to stream on from (ListPayments and
   * its as_of) instead of the stream's own snapshot, so that a stream dropped before its first live
   * event resumes from there; undefined from it: the stream's own snapshot.
   */
  snapshot?: (signal: AbortSignal) => Promise<ListedSnapshot | undefined>;
  /** First and largest wait between attempts. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/** Streams until `signal` aborts (resolves with the last cursor) or a non-transient error (throws). */
export async function runResumableStream(options: ResumableStreamOptions): Promise<string | undefined> {
  const { client, signal } = options;
  const backoffFactory = new ExponentialBackoff({
    initialDelay: options.initialDelayMs ?? 500,
    maxDelay: options.maxDelayMs ?? 15_000,
  });
  let backoff: IBackoff<unknown> | undefined;
  let cursor: string | undefined =
    options.request.startPosition?.case === "startCursor" ? options.request.startPosition.value : undefined;
  let everConnected = false;
  let snapshotSeen = false;
  let reconnecting = false;
  let attempt = 0;
  let snapshotRead = options.snapshot === undefined;

  const connected = () => {
    everConnected = true;
    if (reconnecting) {
      reconnecting = false;
      options.onReconnected();
    }
  };

  while (!signal.aborted) {
    // Once stored payments were shown, a reconnect asks only for what follows them.
    const request: MessageInitShape<typeof StreamRequestSchema> =
      cursor !== undefined
        ? { ...options.request, existingLimit: 0, startPosition: { case: "startCursor", value: cursor } }
        : snapshotSeen
          ? { ...options.request, existingLimit: 0 }
          : options.request;
    let reason: string;
    try {
      if (!snapshotRead) {
        const listed = await options.snapshot?.(signal);
        snapshotRead = true;
        if (listed) {
          connected();
          for (const event of listed.events) await options.onEvent(event);
          snapshotSeen = true;
          cursor = listed.cursor;
          continue;
        }
      }
      for await (const event of client.streamPayments(request, { signal, onHeader: connected })) {
        connected();
        backoff = undefined;
        attempt = 0;
        if (event.cursor) cursor = event.cursor;
        if (event.eventType === "existing") snapshotSeen = true;
        await options.onEvent(event);
      }
      reason = "pa ended the stream";
    } catch (error) {
      if (signal.aborted) break;
      const connectError = ConnectError.from(error);
      if (!isTransient(connectError)) throw connectError;
      if (!everConnected && NOTHING_LISTENING.test(connectError.rawMessage)) throw connectError;
      // pa's own position for this stream is at least as far as the last event we got.
      cursor = connectError.metadata.get(RESUME_CURSOR_TRAILER) ?? cursor;
      reason = connectError.rawMessage;
    }
    if (signal.aborted) break;
    backoff = backoff ? backoff.next(undefined) : backoffFactory.next();
    attempt++;
    reconnecting = true;
    options.onReconnecting({ attempt, delayMs: backoff.duration, reason, fromCursor: cursor !== undefined });
    try {
      await sleep(backoff.duration, undefined, { signal });
    } catch {
      // Aborted while waiting: the loop ends.
    }
  }
  return cursor;
}
