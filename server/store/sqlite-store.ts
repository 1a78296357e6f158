// The embedded PaymentStore: one SQLite file under DATA_DIR, so pa needs no database server and
// keeps what it stored across restarts. better-sqlite3 is synchronous, so every call here is kept
// short (indexed reads, one transaction per batch, retention in chunks) to not stall the event loop.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import Database from "better-sqlite3";
import { PaymentSchema } from "../../gen/payment/payment_pb.js";
import { decodePageCursor, encodePageCursor } from "./page-cursor.js";
import type {
  ListPage,
  ListQuery,
  PaymentFilter,
  PaymentQuery,
  PaymentStore,
  Retention,
  StoredPayment,
} from "./payment-store.js";
import { migrate } from "./sqlite-migrations.js";

export interface SqliteStoreOptions {
  /** DATA_DIR: created when missing; the database is `payments.sqlite` inside it. */
  dataDir: string;
  retention: Retention;
}

/** The file name of the database inside DATA_DIR (plus its -wal and -shm companions). */
export const sqliteFileName = "payments.sqlite";

// Rows deleted per retention statement: a few milliseconds of work between event-loop turns.
const retentionChunk = 5_000;
// Distinct list queries (filter combinations) whose prepared statements are kept.
const statementCacheSize = 256;

const columns = `seq, id, topic, kafka_partition, kafka_offset, kafka_timestamp_ms, provider, status,
  amount, amount_minor, currency, customer_email, created_at, processed_at, metadata, first_seen_ms,
  last_seen_ms`;

// Read with safeIntegers: every INTEGER column arrives as a bigint, so int64s stay exact.
interface PaymentRow {
  seq: bigint;
  id: string;
  topic: string;
  kafka_partition: bigint;
  kafka_offset: bigint;
  kafka_timestamp_ms: bigint;
  provider: bigint;
  status: bigint;
  amount: number;
  amount_minor: bigint;
  currency: string;
  customer_email: string;
  created_at: bigint;
  processed_at: bigint;
  metadata: string;
  first_seen_ms: bigint;
  last_seen_ms: bigint;
}

// The newer-state rule of isNewerState (payment-store.ts), evaluated by SQLite against the stored
// row, so an older or replayed record leaves the row (and its last_seen_ms) untouched.
const upsertSql = `
  INSERT INTO payments (id, topic, kafka_partition, kafka_offset, kafka_timestamp_ms, provider, status,
    amount, amount_minor, currency, customer_email, email_lc, created_at, processed_at, metadata,
    first_seen_ms, last_seen_ms)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET
    topic = excluded.topic, kafka_partition = excluded.kafka_partition,
    kafka_offset = excluded.kafka_offset, kafka_timestamp_ms = excluded.kafka_timestamp_ms,
    provider = excluded.provider, status = excluded.status, amount = excluded.amount,
    amount_minor = excluded.amount_minor, currency = excluded.currency,
    customer_email = excluded.customer_email, email_lc = excluded.email_lc,
    created_at = excluded.created_at, processed_at = excluded.processed_at,
    metadata = excluded.metadata, last_seen_ms = excluded.last_seen_ms
  WHERE CASE
    WHEN excluded.topic = payments.topic AND excluded.kafka_partition = payments.kafka_partition
      THEN excluded.kafka_offset > payments.kafka_offset
    ELSE excluded.created_at > payments.created_at
      OR (excluded.created_at = payments.created_at
        AND excluded.kafka_timestamp_ms > payments.kafka_timestamp_ms)
  END`;

function toStoredPayment(row: PaymentRow): StoredPayment {
  return {
    payment: create(PaymentSchema, {
      id: row.id,
      provider: Number(row.provider),
      amount: row.amount,
      currency: row.currency,
      status: Number(row.status),
      customerEmail: row.customer_email,
      createdAt: row.created_at,
      processedAt: row.processed_at,
      metadata: JSON.parse(row.metadata) as Record<string, string>,
      amountMinor: row.amount_minor,
    }),
    source: {
      topic: row.topic,
      partition: Number(row.kafka_partition),
      offset: Number(row.kafka_offset),
      kafkaTimestampMs: Number(row.kafka_timestamp_ms),
    },
    firstSeenMs: Number(row.first_seen_ms),
    lastSeenMs: Number(row.last_seen_ms),
  };
}

interface Where {
  sql: string;
  params: unknown[];
}

function whereOf(query: PaymentQuery): Where {
  const terms: string[] = [];
  const params: unknown[] = [];
  const add = (term: string, ...values: unknown[]) => {
    terms.push(term);
    params.push(...values);
  };
  if (query.topic) add("topic = ?", query.topic);
  const providers = [...new Set(query.providers ?? [])];
  if (providers.length) add(`provider IN (${providers.map(() => "?").join(", ")})`, ...providers);
  const statuses = [...new Set(query.statuses ?? [])];
  if (statuses.length) add(`status IN (${statuses.map(() => "?").join(", ")})`, ...statuses);
  if (query.currency) add("currency = ?", query.currency);
  if (query.customerEmail) add("email_lc = ?", query.customerEmail.toLowerCase());
  if (query.createdFrom !== undefined) add("created_at >= ?", query.createdFrom);
  if (query.createdTo !== undefined) add("created_at < ?", query.createdTo);
  if (query.minAmountMinor !== undefined) add("amount_minor >= ?", query.minAmountMinor);
  if (query.maxAmountMinor !== undefined) add("amount_minor <= ?", query.maxAmountMinor);
  return { sql: terms.join(" AND "), params };
}

function and(...terms: string[]): string {
  const present = terms.filter(Boolean);
  return present.length ? `WHERE ${present.join(" AND ")}` : "";
}

class SqlitePaymentStore implements PaymentStore {
  private readonly upsertRow: Database.Statement;
  private readonly selectById: Database.Statement<[string], PaymentRow>;
  private readonly selectOne: Database.Statement<[], unknown>;
  private readonly countAll: Database.Statement<[], { n: number }>;
  private readonly deleteLastSeenBefore: Database.Statement<[number, number]>;
  private readonly deleteFirstSeen: Database.Statement<[number]>;
  private readonly writeBatch: (batch: readonly StoredPayment[], nowMs: number) => void;
  // Statements for list(), by SQL text; a Map iterates oldest first, which makes eviction simple.
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly retention: Retention,
  ) {
    this.upsertRow = db.prepare(upsertSql);
    this.selectById = db.prepare<[string], PaymentRow>(`SELECT ${columns} FROM payments WHERE id = ?`);
    this.selectById.safeIntegers(true);
    this.selectOne = db.prepare("SELECT 1");
    this.countAll = db.prepare("SELECT count(*) AS n FROM payments");
    this.deleteLastSeenBefore = db.prepare(
      "DELETE FROM payments WHERE seq IN (SELECT seq FROM payments WHERE last_seen_ms < ? LIMIT ?)",
    );
    this.deleteFirstSeen = db.prepare(
      "DELETE FROM payments WHERE seq IN (SELECT seq FROM payments ORDER BY seq LIMIT ?)",
    );
    this.writeBatch = db.transaction((batch: readonly StoredPayment[], nowMs: number) => {
      for (const { payment, source } of batch) {
        this.upsertRow.run(
          payment.id,
          source.topic,
          source.partition,
          source.offset,
          source.kafkaTimestampMs,
          payment.provider,
          payment.status,
          payment.amount,
          payment.amountMinor,
          payment.currency,
          payment.customerEmail,
          payment.customerEmail.toLowerCase(),
          payment.createdAt,
          payment.processedAt,
          JSON.stringify(payment.metadata),
          nowMs,
          nowMs,
        );
      }
    });
  }

  async upsert(batch: readonly StoredPayment[]): Promise<void> {
    if (batch.length) this.writeBatch(batch, Date.now());
  }

  async get(id: string): Promise<StoredPayment | undefined> {
    const row = this.selectById.get(id);
    return row && toStoredPayment(row);
  }

  async list(query: ListQuery): Promise<ListPage> {
    const where = whereOf(query);
    const before = query.cursor ? decodePageCursor(query.cursor) : undefined;
    const limit = Math.max(0, Math.floor(query.limit));
    const pageWhere = and(where.sql, before === undefined ? "" : "seq < ?");
    const pageParams = before === undefined ? where.params : [...where.params, before];
    // The page's seqs first, from an index alone where one covers the filters; then its rows. One
    // row more than the page says whether there is a next page.
    const rows = this.statement(
      `SELECT ${columns} FROM payments WHERE seq IN (
        SELECT seq FROM payments ${pageWhere} ORDER BY seq DESC LIMIT ?
      ) ORDER BY seq DESC`,
    ).all(...pageParams, limit + 1) as PaymentRow[];
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      payments: page.map(toStoredPayment),
      nextCursor: rows.length > limit && last ? encodePageCursor(Number(last.seq)) : "",
      totalCount: this.count(query, where),
    };
  }

  async recent(filter: PaymentFilter & { topic: string }, limit: number): Promise<StoredPayment[]> {
    if (limit <= 0) return [];
    const query: PaymentQuery = { topic: filter.topic };
    if (filter.provider !== undefined) query.providers = [filter.provider];
    if (filter.status !== undefined) query.statuses = [filter.status];
    const where = whereOf(query);
    const rows = this.statement(
      `SELECT ${columns} FROM payments ${and(where.sql)} ORDER BY seq DESC LIMIT ?`,
    ).all(...where.params, Math.floor(limit)) as PaymentRow[];
    return rows.reverse().map(toStoredPayment);
  }

  async enforceRetention(nowMs: number): Promise<number> {
    let deleted = 0;
    const cutoff = nowMs - this.retention.maxAgeMs;
    if (Number.isFinite(cutoff)) {
      for (;;) {
        const { changes } = this.deleteLastSeenBefore.run(cutoff, retentionChunk);
        deleted += changes;
        if (changes < retentionChunk) break;
        await yieldToEventLoop();
      }
    }
    let excess = (this.countAll.get()?.n ?? 0) - this.retention.maxPayments;
    while (excess > 0) {
      const { changes } = this.deleteFirstSeen.run(Math.min(excess, retentionChunk));
      deleted += changes;
      excess -= changes;
      if (changes === 0) break;
      if (excess > 0) await yieldToEventLoop();
    }
    if (deleted > 0) this.db.pragma("optimize");
    return deleted;
  }

  async ping(): Promise<void> {
    if (!this.db.open) throw new Error("payment store is closed");
    this.selectOne.get();
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.db.pragma("optimize");
    this.db.close();
  }

  private count(query: PaymentQuery, where: Where): number {
    const countsOnly =
      !query.customerEmail &&
      query.createdFrom === undefined &&
      query.createdTo === undefined &&
      query.minAmountMinor === undefined &&
      query.maxAmountMinor === undefined;
    const sql = countsOnly
      ? `SELECT coalesce(sum(n), 0) AS n FROM payment_counts ${and(where.sql)}`
      : `SELECT count(*) AS n FROM payments ${and(where.sql)}`;
    return Number((this.statement(sql).get(...where.params) as { n: bigint }).n);
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement) {
      this.statements.delete(sql);
    } else {
      statement = this.db.prepare(sql);
      statement.safeIntegers(true);
      if (this.statements.size >= statementCacheSize) {
        const oldest = this.statements.keys().next();
        if (!oldest.done) this.statements.delete(oldest.value);
      }
    }
    this.statements.set(sql, statement);
    return statement;
  }
}

/** Opens (creating when missing) the store in `dataDir` and brings its schema up to date. */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<PaymentStore> {
  mkdirSync(options.dataDir, { recursive: true });
  const db = new Database(join(options.dataDir, sqliteFileName));
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 5000");
    db.pragma("temp_store = MEMORY");
    migrate(db);
    for (const pragma of (process.env.PA_SQLITE_PRAGMAS ?? "").split(";").filter(Boolean)) db.pragma(pragma); // BENCH-ONLY
    // Refreshes the planner's statistics when they are missing or stale (cheap: sampled).
    db.pragma("optimize = 0x10002");
    return new SqlitePaymentStore(db, options.retention);
  } catch (error) {
    db.close();
    throw error;
  }
}
