// Every write to the embedded store runs in one worker thread with its own SQLite connection.
// better-sqlite3 is synchronous: an upsert costs microseconds per row (a B-tree write per index),
// and on the event loop that time was taken from every stream and RPC (measured: a third of pa's
// main thread at full speed, and most of its latency). Here the event loop only sends each batch
// as one packed buffer (packed-rows.ts) and awaits the commit; reads stay on the main connection,
// which WAL lets run while the worker writes. One worker keeps the writes in the order they were
// sent. It keeps payment_counts (sqlite-migrations.ts) exact itself, per transaction.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { amountBucketSource } from "./amount-bucket.js";
import { keyHashSource } from "./key-hash.js";
import { packedRowsDecoderSource } from "./packed-rows.js";

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

interface Reply {
  id: number;
  error?: string;
  result?: number;
}

// Plain CommonJS so that the worker runs the same way under node, tsx and vitest.
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
${packedRowsDecoderSource}
${keyHashSource}
${amountBucketSource}
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma("synchronous = NORMAL");
db.pragma("busy_timeout = 5000");
db.pragma("temp_store = MEMORY");
db.pragma("cache_size = -" + workerData.cacheKiB);
db.pragma("wal_autocheckpoint = " + workerData.autocheckpointPages);
db.pragma("journal_size_limit = " + workerData.walSizeLimitBytes);

// What the newer-state rule (isNewerState in payment-store.ts) and the counts need of a stored row.
const selectStored = db
  .prepare(
    "SELECT seq, topic, kafka_partition, kafka_offset, kafka_timestamp_ms, created_at, provider, status, currency FROM payments WHERE id_key = ? AND id = ?",
  )
  .raw(true)
  .safeIntegers(true);
const insertRow = db.prepare(
  "INSERT INTO payments (id, id_key, topic, topic_id, kafka_partition, kafka_offset, kafka_timestamp_ms, provider, status, amount, amount_minor, amount_bucket, currency, customer_email, email_lc, email_key, created_at, processed_at, metadata, first_seen_ms, last_seen_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
);
const updateRow = db.prepare(
  "UPDATE payments SET topic = ?, topic_id = ?, kafka_partition = ?, kafka_offset = ?, kafka_timestamp_ms = ?, provider = ?, status = ?, amount = ?, amount_minor = ?, amount_bucket = ?, currency = ?, customer_email = ?, email_lc = ?, email_key = ?, created_at = ?, processed_at = ?, metadata = ?, last_seen_ms = ? WHERE seq = ?",
);
const addTopic = db.prepare("INSERT INTO topics (topic) VALUES (?) ON CONFLICT (topic) DO NOTHING");
const selectTopicId = db.prepare("SELECT topic_id FROM topics WHERE topic = ?").pluck(true);
const addCount = db.prepare(
  "INSERT INTO payment_counts (topic, provider, status, currency, n) VALUES (?, ?, ?, ?, ?) ON CONFLICT (topic, provider, status, currency) DO UPDATE SET n = n + excluded.n",
);
const deleteLastSeenBefore = db.prepare(
  "DELETE FROM payments WHERE seq IN (SELECT seq FROM payments WHERE last_seen_ms < ? LIMIT ?) RETURNING topic, provider, status, currency",
);
const deleteFirstSeen = db.prepare(
  "DELETE FROM payments WHERE seq IN (SELECT seq FROM payments ORDER BY seq LIMIT ?) RETURNING topic, provider, status, currency",
);
const countAll = db.prepare("SELECT coalesce(sum(n), 0) AS n FROM payment_counts");

// payment_counts changes per transaction, not per row: the deltas of a transaction's rows are
// summed here by (topic, provider, status, currency) and written once each at its end.
class CountChanges {
  constructor() {
    this.byKey = new Map();
  }
  add(topic, provider, status, currency, delta) {
    const key = topic + "\\u0000" + provider + "\\u0000" + status + "\\u0000" + currency;
    const change = this.byKey.get(key);
    if (change) change.n += delta;
    else this.byKey.set(key, { topic, provider, status, currency, n: delta });
  }
  write() {
    for (const change of this.byKey.values()) {
      if (change.n !== 0) addCount.run(change.topic, change.provider, change.status, change.currency, change.n);
    }
    this.byKey.clear();
  }
}

// The rule of isNewerState (payment-store.ts) against a stored row from selectStored (integers
// arrive as bigints; < and > compare them with numbers exactly).
function isNewer(row, stored) {
  if (row.topic === stored[1] && BigInt(row.partition) === stored[2]) return row.offset > stored[3];
  if (row.createdAt !== stored[5]) return row.createdAt > stored[5];
  return row.kafkaTimestampMs > stored[4];
}

// topic_id by topic (sqlite-migrations.ts, version 4). Emptied when a transaction fails: an id it
// assigned was rolled back with it.
const topicIds = new Map();
function topicIdOf(topic) {
  let id = topicIds.get(topic);
  if (id === undefined) {
    addTopic.run(topic);
    id = selectTopicId.get(topic);
    topicIds.set(topic, id);
  }
  return id;
}

// One transaction for every batch that arrived while the previous one was written: a commit
// writes each touched page once, and with random keys (id, e-mail, amount) a larger transaction
// shares more of its pages between rows.
const writeBatches = db.transaction((batches) => {
  const counts = new CountChanges();
  for (const { rows, nowMs } of batches) {
    decodePackedRows(rows, (row) => {
      const emailLc = row.customerEmail.toLowerCase();
      const idKey = keyHash(row.id);
      const topicId = topicIdOf(row.topic);
      // A new payment (the usual case) costs one id lookup, as a unique index's check did. This
      // thread is the only writer, so nothing can insert the id between the lookup and the insert.
      const stored = selectStored.get(idKey, row.id);
      if (stored === undefined) {
        insertRow.run(row.id, idKey, row.topic, topicId, row.partition, row.offset, row.kafkaTimestampMs,
          row.provider, row.status, row.amount, row.amountMinor, amountBucket(row.amountMinor), row.currency,
          row.customerEmail, emailLc,
          keyHash(emailLc), row.createdAt, row.processedAt, row.metadata, nowMs, nowMs);
        counts.add(row.topic, row.provider, row.status, row.currency, 1);
        return;
      }
      if (!isNewer(row, stored)) return;
      updateRow.run(row.topic, topicId, row.partition, row.offset, row.kafkaTimestampMs, row.provider,
        row.status, row.amount, row.amountMinor, amountBucket(row.amountMinor), row.currency, row.customerEmail, emailLc, keyHash(emailLc),
        row.createdAt, row.processedAt, row.metadata, nowMs, stored[0]);
      const [, topic, , , , , provider, status, currency] = stored;
      if (row.topic !== topic || BigInt(row.provider) !== provider || BigInt(row.status) !== status || row.currency !== currency) {
        counts.add(topic, Number(provider), Number(status), currency, -1);
        counts.add(row.topic, row.provider, row.status, row.currency, 1);
      }
    });
  }
  counts.write();
});

const deleteChunk = db.transaction((statement, ...params) => {
  const counts = new CountChanges();
  const deleted = statement.all(...params);
  for (const row of deleted) counts.add(row.topic, row.provider, row.status, row.currency, -1);
  counts.write();
  return deleted.length;
});

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
        const changes = deleteChunk(deleteLastSeenBefore, request.lastSeenBefore, request.chunk);
        deleted += changes;
        if (changes < request.chunk) byAge = false;
        return setImmediate(step);
      }
      const excess = Number(countAll.get().n) - request.maxPayments;
      if (excess > 0) {
        const changes = deleteChunk(deleteFirstSeen, Math.min(excess, request.chunk));
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

// Upserts queue here until this thread's event loop has taken every message waiting for it, then
// go in one transaction (see writeBatches). Any other command first writes the queued upserts, so
// everything still happens in the order it was sent.
let queued = [];
function writeQueued() {
  if (queued.length === 0) return;
  const batches = queued;
  queued = [];
  try {
    writeBatches(batches);
    for (const batch of batches) reply(batch.id);
  } catch (error) {
    topicIds.clear();
    for (const batch of batches) reply(batch.id, error);
  }
}

parentPort.on("message", (message) => {
  if (message.kind === "upsert") {
    if (queued.length === 0) setImmediate(writeQueued);
    queued.push(message);
    return;
  }
  writeQueued();
  try {
    switch (message.kind) {
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
      worker.postMessage({ ...command, id }, command.kind === "upsert" ? [command.rows] : []);
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
