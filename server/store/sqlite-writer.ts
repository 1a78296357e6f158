// Every write to the embedded store runs in one worker thread with its own SQLite connection.
// better-sqlite3 is synchronous: an upsert costs microseconds per row (a B-tree write per index),
// and on the event loop that time was taken from every stream and RPC (measured: a third of pa's
// main thread at full speed, and most of its latency). Here the event loop only sends each batch
// as one packed buffer (packed-rows.ts) and awaits the commit; reads stay on the main connection,
// which WAL lets run while the worker writes. One worker keeps the writes in the order they were
// sent. It keeps payment_counts (sqlite-migrations.ts) exact itself, per transaction. This module
// is the event loop's side; the thread's code is sqlite-writer-thread.ts.
import { startThreadModule } from "../thread-module.js";

export interface RetentionRequest {
  /** Delete payments last seen before this (ms since epoch); -Infinity for no age limit. */
  lastSeenBefore: number;
  maxPayments: number;
  /** Rows per DELETE statement: other writes run between chunks. */
  chunk: number;
}

export interface SqliteWriter {
  /** Stores the payments of a batch from encodePackedRows (transferred: the buffer is gone after). */
  upsert(rows: ArrayBuffer, nowMs: number): Promise<void>;
  /** Deletes by age, then the oldest beyond maxPayments; resolves to the number deleted. */
  enforceRetention(request: RetentionRequest): Promise<number>;
  /** Refreshes the planner's statistics (a write, so it runs here too). */
  optimize(): Promise<void>;
  /** Why the writer cannot write, or undefined when it can. */
  problem(): string | undefined;
  /** Finishes the writes already sent, then closes the connection and ends the thread. */
  stop(): Promise<void>;
  /** Resolves once the thread has ended: stopped, or died (then problem() says why). */
  readonly ended: Promise<void>;
  /**
   * Ends the thread at once, as a crash would: writes in flight fail, and what SQLite had not
   * committed is rolled back. For tests of what follows a dead writer.
   */
  terminate(): Promise<void>;
}

type Command =
  | { kind: "upsert"; rows: ArrayBuffer; nowMs: number }
  | { kind: "retention"; request: RetentionRequest }
  | { kind: "optimize" }
  | { kind: "stop" };

/** What the writer thread (sqlite-writer-thread.ts) is sent; its reply carries the same id. */
export type WriterMessage = Command & { id: number };

/** The writer thread's answer to one message: an error's text, or the number of rows deleted. */
export interface WriterReply {
  id: number;
  error?: string;
  result?: number;
}

/** What the writer thread is started with (its workerData). */
export interface SqliteWriterOptions {
  file: string;
  cacheKiB: number;
  autocheckpointPages: number;
  walSizeLimitBytes: number;
}

/** Starts the writer thread on an existing, migrated database file. */
export function startSqliteWriter(options: SqliteWriterOptions): SqliteWriter {
  const pending = new Map<number, { resolve: (result: number) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let failure: string | undefined;
  let stopped = false;

  const worker = startThreadModule(import.meta.url, "./sqlite-writer-thread", { workerData: options });
  // Unreferenced while idle, so a forgotten store never keeps the process alive; referenced while
  // a write is in flight, so awaiting it always completes.
  worker.unref();
  worker.on("message", (reply: WriterReply) => {
    const waiter = pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id);
    if (pending.size === 0 && !stopped) worker.unref();
    if (reply.error !== undefined) waiter.reject(new Error(reply.error));
    else waiter.resolve(reply.result ?? 0);
  });
  worker.on("error", (error) => {
    failure = `the SQLite writer thread failed: ${error.message}`;
  });
  const exited = new Promise<void>((resolve) =>
    worker.once("exit", (code) => {
      failure ??= `the SQLite writer thread has stopped (exit code ${code})`;
      for (const waiter of pending.values()) waiter.reject(new Error(failure));
      pending.clear();
      resolve();
    }),
  );

  const send = (command: Command) => {
    if (failure !== undefined) return Promise.reject(new Error(failure));
    if (stopped && command.kind !== "stop") return Promise.reject(new Error("the payment store is closed"));
    const id = nextId++;
    return new Promise<number>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.ref();
      const message: WriterMessage = { ...command, id };
      worker.postMessage(message, command.kind === "upsert" ? [command.rows] : []);
    });
  };

  return {
    async upsert(rows, nowMs) {
      await send({ kind: "upsert", rows, nowMs });
    },
    enforceRetention: (request) => send({ kind: "retention", request }),
    async optimize() {
      await send({ kind: "optimize" });
    },
    problem: () => failure,
    ended: exited,
    async terminate() {
      failure ??= "the SQLite writer thread was terminated";
      await worker.terminate();
    },
    async stop() {
      if (stopped) return exited;
      stopped = true;
      // Referenced until it has exited: awaiting an unreferenced worker's exit lets the process
      // end (silently, mid-shutdown) when nothing else keeps it alive.
      worker.ref();
      // Sent after every write already queued, so those still commit.
      if (failure === undefined) await send({ kind: "stop" }).catch(() => undefined);
      failure = "the payment store is closed";
      await exited;
    },
  };
}
