// Every write to the embedded store runs in one worker thread with its own SQLite connection.
// better-sqlite3 is synchronous: an upsert of a batch costs tens of microseconds per row (the
// indexes and the count triggers), and on the event loop that time was taken from every stream
// and RPC (measured: a third of pa's main thread at full speed, and most of its latency). Here the
// event loop only sends the rows and awaits the commit; reads stay on the main connection, which
// WAL lets run while the worker writes. One worker keeps the writes in the order they were sent.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** One payment as the upsert statement's parameters, in the statement's order. */
export type UpsertRow = readonly unknown[];

export interface RetentionRequest {
  /** Delete payments last seen before this (ms since epoch); -Infinity for no age limit. */
  lastSeenBefore: number;
  maxPayments: number;
  /** Rows per DELETE statement: other writes run between chunks. */
  chunk: number;
}

export interface SqliteWriter {
  upsert(rows: UpsertRow[]): Promise<void>;
  /** Deletes by age, then the oldest beyond maxPayments; resolves to the number deleted. */
  enforceRetention(request: RetentionRequest): Promise<number>;
  /** Refreshes the planner's statistics (a write, so it runs here too). */
  optimize(): Promise<void>;
  /** Why the writer cannot write, or undefined when it can. */
  problem(): string | undefined;
  /** Finishes the writes already sent, then closes the connection and ends the thread. */
  stop(): Promise<void>;
}

type Command =
  | { kind: "upsert"; rows: UpsertRow[] }
  | { kind: "retention"; request: RetentionRequest }
  | { kind: "optimize" }
  | { kind: "stop" };

interface Reply {
  id: number;
  error?: string;
  result?: number;
}

// Plain CommonJS so that the worker runs the same way under node, tsx and vitest.
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma("synchronous = NORMAL");
db.pragma("busy_timeout = 5000");
db.pragma("temp_store = MEMORY");
db.pragma("cache_size = -" + workerData.cacheKiB);
db.pragma("wal_autocheckpoint = " + workerData.autocheckpointPages);
db.pragma("journal_size_limit = " + workerData.walSizeLimitBytes);
const upsertRow = db.prepare(workerData.upsertSql);
const writeBatch = db.transaction((rows) => {
  for (const row of rows) upsertRow.run(row);
});
const deleteLastSeenBefore = db.prepare(
  "DELETE FROM payments WHERE seq IN (SELECT seq FROM payments WHERE last_seen_ms < ? LIMIT ?)",
);
const deleteFirstSeen = db.prepare(
  "DELETE FROM payments WHERE seq IN (SELECT seq FROM payments ORDER BY seq LIMIT ?)",
);
const countAll = db.prepare("SELECT coalesce(sum(n), 0) AS n FROM payment_counts");

const reply = (id, error, result) =>
  parentPort.postMessage(error === undefined ? { id, result } : { id, error: String(error) });

// Retention deletes in chunks, one chunk per turn of this thread's event loop, so upserts that
// arrive meanwhile are not held up behind a long delete.
function retention(id, request) {
  let deleted = 0;
  let byAge = Number.isFinite(request.lastSeenBefore);
  const step = () => {
    try {
      if (byAge) {
        const { changes } = deleteLastSeenBefore.run(request.lastSeenBefore, request.chunk);
        deleted += changes;
        if (changes < request.chunk) byAge = false;
        return setImmediate(step);
      }
      const excess = Number(countAll.get().n) - request.maxPayments;
      if (excess > 0) {
        const { changes } = deleteFirstSeen.run(Math.min(excess, request.chunk));
        deleted += changes;
        if (changes > 0 && excess > changes) return setImmediate(step);
      }
      reply(id, undefined, deleted);
    } catch (error) {
      reply(id, error);
    }
  };
  step();
}

parentPort.on("message", (message) => {
  try {
    switch (message.kind) {
      case "upsert":
        writeBatch(message.rows);
        return reply(message.id);
      case "retention":
        return retention(message.id, message.request);
      case "optimize":
        db.pragma("optimize");
        return reply(message.id);
      case "stop":
        db.close();
        reply(message.id);
        return parentPort.close();
    }
  } catch (error) {
    reply(message.id, error);
  }
});
`;

export interface SqliteWriterOptions {
  file: string;
  upsertSql: string;
  cacheKiB: number;
  autocheckpointPages: number;
  walSizeLimitBytes: number;
}

/** Starts the writer thread on an existing, migrated database file. */
export function startSqliteWriter(options: SqliteWriterOptions): SqliteWriter {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const pending = new Map<number, { resolve: (result: number) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let failure: string | undefined;
  let stopped = false;

  const worker = new Worker(workerSource, { eval: true, workerData: { driver, ...options } });
  // Unreferenced while idle, so a forgotten store never keeps the process alive; referenced while
  // a write is in flight, so awaiting it always completes.
  worker.unref();
  worker.on("message", (reply: Reply) => {
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
    worker.once("exit", () => {
      failure ??= "the SQLite writer thread has stopped";
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
      worker.postMessage({ ...command, id });
    });
  };

  return {
    async upsert(rows) {
      if (rows.length > 0) await send({ kind: "upsert", rows });
    },
    enforceRetention: (request) => send({ kind: "retention", request }),
    async optimize() {
      await send({ kind: "optimize" });
    },
    problem: () => failure,
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
