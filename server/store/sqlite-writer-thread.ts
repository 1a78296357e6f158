// The SQLite writer thread's own code (sqlite-writer.ts starts it and says why writes run in a
// thread): one connection that takes every write of the embedded store, in the order sent, and
// keeps payment_counts (sqlite-migrations.ts) exact itself, per transaction.
import type { MessagePort } from "node:worker_threads";
import Database from "better-sqlite3";
import { serveThread } from "../thread-module.js";
import { amountBucket } from "./amount-bucket.js";
import { keyHash } from "./key-hash.js";
import { decodePackedRows, type PackedRow } from "./packed-rows.js";
import type { RetentionRequest, SqliteWriterOptions, WriterMessage, WriterReply } from "./sqlite-writer.js";

/** What the newer-state rule and the counts need of a stored row; integers arrive as bigints. */
type StoredRow = [
  seq: bigint,
  topic: string,
  partition: bigint,
  offset: bigint,
  kafkaTimestampMs: bigint,
  createdAt: bigint,
  provider: bigint,
  status: bigint,
  currency: string,
];

/** A row deleted by retention: what its count is kept by. */
interface DeletedRow {
  topic: string;
  provider: number;
  status: number;
  currency: string;
}

type QueuedUpsert = Extract<WriterMessage, { kind: "upsert" }>;

// The rule of isNewerState (payment-store.ts) against a stored row (< and > compare bigints with
// numbers exactly).
// The columns an insert and an update both write, in the order both statements name them.
function rowColumns(row: PackedRow, topicId: number, emailLc: string) {
  return [
    row.topic,
    topicId,
    row.partition,
    row.offset,
    row.kafkaTimestampMs,
    row.provider,
    row.status,
    row.amount,
    row.amountMinor,
    amountBucket(row.amountMinor),
    row.currency,
    row.customerEmail,
    emailLc,
    keyHash(emailLc),
    row.createdAt,
    row.processedAt,
    row.metadata,
  ] as const;
}

function isNewer(row: PackedRow, stored: StoredRow): boolean {
  if (row.topic === stored[1] && BigInt(row.partition) === stored[2]) return row.offset > stored[3];
  if (row.createdAt !== stored[5]) return row.createdAt > stored[5];
  return row.kafkaTimestampMs > stored[4];
}

/** Opens the connection to `options.file` and takes the commands `port` brings until "stop". */
function serveWrites(port: MessagePort, options: SqliteWriterOptions): void {
  const db = new Database(options.file, { fileMustExist: true });
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  db.pragma("temp_store = MEMORY");
  db.pragma(`cache_size = -${options.cacheKiB}`);
  db.pragma(`wal_autocheckpoint = ${options.autocheckpointPages}`);
  db.pragma(`journal_size_limit = ${options.walSizeLimitBytes}`);

  const selectStored = db
    .prepare<[number, string], StoredRow>(
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
  const addTopic = db.prepare<[string]>(
    "INSERT INTO topics (topic) VALUES (?) ON CONFLICT (topic) DO NOTHING",
  );
  const selectTopicId = db
    .prepare<[string], number>("SELECT topic_id FROM topics WHERE topic = ?")
    .pluck(true);
  const addCount = db.prepare<[string, number, number, string, number]>(
    "INSERT INTO payment_counts (topic, provider, status, currency, n) VALUES (?, ?, ?, ?, ?) ON CONFLICT (topic, provider, status, currency) DO UPDATE SET n = n + excluded.n",
  );
  const deleteLastSeenBefore = db.prepare<[number, number], DeletedRow>(
    "DELETE FROM payments WHERE seq IN (SELECT seq FROM payments WHERE last_seen_ms < ? LIMIT ?) RETURNING topic, provider, status, currency",
  );
  const deleteFirstSeen = db.prepare<[number], DeletedRow>(
    "DELETE FROM payments WHERE seq IN (SELECT seq FROM payments ORDER BY seq LIMIT ?) RETURNING topic, provider, status, currency",
  );
  const countAll = db.prepare<[], { n: number }>("SELECT coalesce(sum(n), 0) AS n FROM payment_counts");

  // payment_counts changes per transaction, not per row: the deltas of a transaction's rows are
  // summed by (topic, provider, status, currency) and written once each at its end.
  const countChanges = () => {
    const byKey = new Map<string, DeletedRow & { n: number }>();
    return {
      add(topic: string, provider: number, status: number, currency: string, delta: number) {
        const key = `${topic}\u0000${provider}\u0000${status}\u0000${currency}`;
        const change = byKey.get(key);
        if (change) change.n += delta;
        else byKey.set(key, { topic, provider, status, currency, n: delta });
      },
      write() {
        for (const change of byKey.values()) {
          if (change.n !== 0)
            addCount.run(change.topic, change.provider, change.status, change.currency, change.n);
        }
        byKey.clear();
      },
    };
  };

  // topic_id by topic (sqlite-migrations.ts, version 4). Emptied when a transaction fails: an id
  // it assigned was rolled back with it.
  const topicIds = new Map<string, number>();
  const topicIdOf = (topic: string): number => {
    let id = topicIds.get(topic);
    if (id === undefined) {
      addTopic.run(topic);
      id = selectTopicId.get(topic);
      if (id === undefined) throw new Error(`topic ${topic} has no topic_id after its insert`);
      topicIds.set(topic, id);
    }
    return id;
  };

  // One transaction for every batch that arrived while the previous one was written: a commit
  // writes each touched page once, and with random keys (id, e-mail, amount) a larger transaction
  // shares more of its pages between rows.
  const writeBatches = db.transaction((batches: readonly QueuedUpsert[]) => {
    const counts = countChanges();
    for (const { rows, nowMs } of batches) {
      decodePackedRows(rows, (row) => {
        const emailLc = row.customerEmail.toLowerCase();
        const idKey = keyHash(row.id);
        const topicId = topicIdOf(row.topic);
        // A new payment (the usual case) costs one id lookup, as a unique index's check did. This
        // thread is the only writer, so nothing can insert the id between the lookup and the insert.
        const stored = selectStored.get(idKey, row.id);
        if (stored === undefined) {
          insertRow.run(row.id, idKey, ...rowColumns(row, topicId, emailLc), nowMs, nowMs);
          counts.add(row.topic, row.provider, row.status, row.currency, 1);
          return;
        }
        if (!isNewer(row, stored)) return;
        updateRow.run(...rowColumns(row, topicId, emailLc), nowMs, stored[0]);
        const [, topic, , , , , provider, status, currency] = stored;
        if (
          row.topic !== topic ||
          BigInt(row.provider) !== provider ||
          BigInt(row.status) !== status ||
          row.currency !== currency
        ) {
          counts.add(topic, Number(provider), Number(status), currency, -1);
          counts.add(row.topic, row.provider, row.status, row.currency, 1);
        }
      });
    }
    counts.write();
  });

  const deleteChunk = db.transaction((deleteRows: () => DeletedRow[]) => {
    const counts = countChanges();
    const deleted = deleteRows();
    for (const row of deleted) counts.add(row.topic, row.provider, row.status, row.currency, -1);
    counts.write();
    return deleted.length;
  });

  const reply = (id: number, error?: unknown, result?: number) =>
    port.postMessage(
      (error === undefined ? { id, result } : { id, error: String(error) }) satisfies WriterReply,
    );

  // Retention deletes in chunks, one chunk per turn of this thread's event loop, so upserts that
  // arrive meanwhile are not held up behind a long delete.
  const retention = (id: number, request: RetentionRequest) => {
    let deleted = 0;
    let byAge = Number.isFinite(request.lastSeenBefore);
    const step = () => {
      try {
        if (byAge) {
          const changes = deleteChunk(() => deleteLastSeenBefore.all(request.lastSeenBefore, request.chunk));
          deleted += changes;
          if (changes < request.chunk) byAge = false;
          setImmediate(step);
          return;
        }
        const excess = Number(countAll.get()?.n ?? 0) - request.maxPayments;
        if (excess > 0) {
          const changes = deleteChunk(() => deleteFirstSeen.all(Math.min(excess, request.chunk)));
          deleted += changes;
          if (changes > 0 && excess > changes) {
            setImmediate(step);
            return;
          }
        }
        reply(id, undefined, deleted);
      } catch (error) {
        reply(id, error);
      }
    };
    step();
  };

  // Upserts queue here until this thread's event loop has taken every message waiting for it,
  // then go in one transaction (see writeBatches). Any other command first writes the queued
  // upserts, so everything still happens in the order it was sent.
  let queued: QueuedUpsert[] = [];
  const writeQueued = () => {
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
  };

  port.on("message", (message: WriterMessage) => {
    if (message.kind === "upsert") {
      if (queued.length === 0) setImmediate(writeQueued);
      queued.push(message);
      return;
    }
    writeQueued();
    try {
      switch (message.kind) {
        case "retention":
          retention(message.id, message.request);
          return;
        case "optimize":
          db.pragma("optimize");
          reply(message.id);
          return;
        case "stop":
          db.close();
          reply(message.id);
          port.close();
          return;
      }
    } catch (error) {
      reply(message.id, error);
    }
  });
}

serveThread("sqlite-writer-thread", serveWrites);
