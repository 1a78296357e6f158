// The benchmark's StreamPayments client for scenarios that read a few fast streams on the main
// thread: raw HTTP/2 reads (grpc-stream-reader.ts) whose messages are decoded in worker threads
// (decode-worker.ts), so the client's decoding is not what limits pa's measured rate. Each event's
// arrival time is taken on the reading thread; decoded events come back in batches and are handed
// to the scenario in the order they arrived, stream by stream.
import os from "node:os";
import type { Worker } from "node:worker_threads";
import type { DecodedBatch, DecodeReply, DecodeRequest } from "./decode-worker.js";
import { GrpcConnection, readStreamPayments, type StreamRequestInit } from "./grpc-stream-reader.js";
import { startTsWorker } from "./ts-worker.js";

/** One event as the scenarios check it. */
export interface StreamEvent {
  partition: number;
  offset: number;
  paymentId: string;
  /** performance.now() on the reading thread when the event's last byte arrived. */
  arrivalMs: number;
}

// Two decoding threads keep up with one stream at pa's full rate on the two cores the benchmarks
// are made on (pa and the broker take the rest); more would only compete with them.
const DEFAULT_DECODE_THREADS = Math.max(1, Math.min(2, os.availableParallelism()));
// A batch goes to a decoding thread when the reading thread has handled what the socket gave it
// (setImmediate), or earlier once it holds this many events.
const MAX_BATCH_EVENTS = 2048;
const STAGING_BYTES = 512 * 1024;

interface PendingDecode {
  resolve(batch: DecodedBatch): void;
  reject(error: Error): void;
}

/** Worker threads that decode batches of PaymentEvent messages, each batch on the next thread. */
class DecoderPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, PendingDecode>();
  private nextId = 0;
  private failure: Error | undefined;

  /** Resolves once every thread has loaded, so that loading them is not part of what is measured. */
  readonly ready: Promise<void>;

  constructor(threads: number) {
    const loaded: Promise<void>[] = [];
    this.workers = Array.from({ length: threads }, () => {
      const worker = startTsWorker(new URL("./decode-worker.ts", import.meta.url));
      loaded.push(
        new Promise((resolve, reject) => {
          worker.on("message", (reply: DecodeReply) => {
            if ("ready" in reply) return resolve();
            const waiting = this.pending.get(reply.id);
            this.pending.delete(reply.id);
            if ("error" in reply) waiting?.reject(new Error(reply.error));
            else waiting?.resolve(reply);
          });
          worker.on("error", (error) => {
            this.fail(error);
            reject(error);
          });
          worker.on("exit", (code) => {
            const error = new Error(`a decoding thread exited (${code})`);
            this.fail(error);
            reject(error);
          });
        }),
      );
      return worker;
    });
    this.ready = Promise.all(loaded).then(() => {});
  }

  decode(bytes: ArrayBuffer, ends: Uint32Array<ArrayBuffer>): Promise<DecodedBatch> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const worker = this.workers[id % this.workers.length] as Worker;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: DecodeRequest = { id, bytes, ends };
      worker.postMessage(request, [bytes, ends.buffer]);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error("the stream client was closed");
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(this.failure);
    this.pending.clear();
  }
}

/**
 * Collects one call's raw messages into batches for the decoding threads and hands the decoded
 * events on in arrival order: batches may come back from different threads out of order, so each
 * waits for the ones before it.
 */
class CallDecoder {
  private staging = new Uint8Array(STAGING_BYTES);
  private stagedBytes = 0;
  private readonly ends = new Uint32Array(MAX_BATCH_EVENTS);
  private readonly times = new Float64Array(MAX_BATCH_EVENTS);
  private staged = 0;
  private flushScheduled = false;
  private nextBatch = 0;
  private nextDelivery = 0;
  private readonly decoded = new Map<number, { batch: DecodedBatch; times: Float64Array }>();
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;

  constructor(
    private readonly pool: DecoderPool,
    private readonly onEvent: (event: StreamEvent) => void,
  ) {}

  add(message: Uint8Array, arrivalMs: number): void {
    if (this.stagedBytes + message.length > this.staging.length) {
      this.flush();
      if (message.length > this.staging.length) this.staging = new Uint8Array(message.length * 2);
    }
    this.staging.set(message, this.stagedBytes);
    this.stagedBytes += message.length;
    this.ends[this.staged] = this.stagedBytes;
    this.times[this.staged] = arrivalMs;
    this.staged++;
    if (this.staged === MAX_BATCH_EVENTS) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Sends what is staged, then resolves once every batch was decoded and handed on. */
  async finish(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
  }

  private flush(): void {
    if (this.staged === 0) return;
    const seq = this.nextBatch++;
    const times = this.times.slice(0, this.staged);
    const decoding = this.pool
      .decode(this.staging.buffer.slice(0, this.stagedBytes), this.ends.slice(0, this.staged))
      .then((batch) => {
        this.decoded.set(seq, { batch, times });
        this.deliverInOrder();
      })
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => this.inFlight.delete(decoding));
    this.inFlight.add(decoding);
    this.stagedBytes = 0;
    this.staged = 0;
  }

  private deliverInOrder(): void {
    for (let next = this.decoded.get(this.nextDelivery); next; next = this.decoded.get(this.nextDelivery)) {
      this.decoded.delete(this.nextDelivery++);
      const { batch, times } = next;
      for (let i = 0; i < times.length; i++) {
        this.onEvent({
          partition: batch.partitions[i] as number,
          offset: batch.offsets[i] as number,
          paymentId: batch.paymentIds[i] as string,
          arrivalMs: times[i] as number,
        });
      }
    }
  }
}

/** HTTP/2 connections to pa and the threads that decode what their streams carry. */
export class StreamClient {
  private constructor(
    private readonly connections: GrpcConnection[],
    private readonly pool: DecoderPool,
  ) {}

  /** Connects to pa and starts the decoding threads; resolves once both are ready. */
  static async start(
    baseUrl: string,
    options: { connections?: number; decodeThreads?: number } = {},
  ): Promise<StreamClient> {
    const connections = Array.from({ length: options.connections ?? 1 }, () => new GrpcConnection(baseUrl));
    const pool = new DecoderPool(options.decodeThreads ?? DEFAULT_DECODE_THREADS);
    const client = new StreamClient(connections, pool);
    try {
      await Promise.all([pool.ready, ...connections.map((connection) => connection.connected)]);
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  /**
   * Reads one StreamPayments call (on connection `i % connections`) until it ends or `signal`
   * aborts (a normal end here), calling onEvent with each event in arrival order; resolves once
   * every event that arrived was handed on. A non-OK status rejects with its code and message.
   */
  async follow(
    request: StreamRequestInit,
    signal: AbortSignal,
    onEvent: (event: StreamEvent) => void,
    i = 0,
  ): Promise<void> {
    const decoder = new CallDecoder(this.pool, onEvent);
    const connection = this.connections[i % this.connections.length] as GrpcConnection;
    try {
      await readStreamPayments(connection, request, signal, (message, arrivalMs) =>
        decoder.add(message, arrivalMs),
      );
    } finally {
      await decoder.finish();
    }
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.close();
    await this.pool.close();
  }
}
