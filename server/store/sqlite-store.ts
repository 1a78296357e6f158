// The embedded PaymentStore: one SQLite file in WAL mode under DATA_DIR, so pa needs no database
// server and keeps what it stored across restarts. better-sqlite3 is synchronous, so nothing slow
// runs on the event loop: every write (one transaction per batch, retention in small chunks) runs
// in a writer thread (sqlite-writer.ts), WAL checkpoints in another (sqlite-checkpointer.ts), and
// the event loop keeps only indexed reads, which WAL lets run while the writer writes. The schema
// and its indexes are in sqlite-migrations.ts, the choice of index per query in sqlite-query.ts.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import Database from "better-sqlite3";
import pino from "pino";
import { PaymentSchema } from "../../gen/payment/payment_pb.js";
import type { Logger } from "../observability/logger.js";
import { keyHash } from "./key-hash.js";
import { encodePackedRows } from "./packed-rows.js";
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
import { RestartingSqliteWriter } from "./restarting-sqlite-writer.js";
import { type Checkpointer, startCheckpointer } from "./sqlite-checkpointer.js";
import { migrate } from "./sqlite-migrations.js";
import { classCondition, indexedBy, planList, type Where, whereClause, whereOf } from "./sqlite-query.js";
import { startSqliteWriter } from "./sqlite-writer.js";

export interface SqliteStoreOptions {
  /** DATA_DIR: created when missing; the database is `payments.sqlite` inside it. */
  dataDir: string;
  retention: Retention;
  /** Where a dead writer thread (and its restart) is reported; nowhere when absent. */
  logger?: Logger;
}

/** The file name of the database inside DATA_DIR (plus its -wal and -shm companions). */
export const sqliteFileName = "payments.sqlite";

// Rows deleted per retention statement. Deleting the oldest payments touches a cold page of every
// index per row (about 0.15 ms a row measured at a million payments), so upserts wait at most
// ~75 ms behind a chunk.
const retentionChunk = 500;
// Page cache of each connection: the recent end of every index and the id index's upper levels stay
// in memory. Measured to 400k rows in the view's 500-row writes, 256 MiB with a 1 GiB mmap saved
// the writer nothing (each transaction's cost is writing its dirty pages, not reading them).
export const sqliteCacheKiB = 64 * 1024;
const cacheKiB = sqliteCacheKiB;
const checkpointIntervalMs = 200;
const backstopCheckpointPages = 50_000;
const walSizeLimitBytes = 64 * 1024 * 1024;
// A range matching more payments than this is first looked for among the newest payments, in a
// window of at most maxWindow seqs (see pageSeqs).
const windowFirstAbove = 2_000;
const maxWindow = 50_000;
// Classes merged at most for one page (see classUnion); a filter admitting more walks the newest
// payments instead, where it finds a page soon.
const maxMergedClasses = 64;
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

/**
 * The payments of each class (one topic, provider, status and currency) that match `where`, below
 * `before`, as one UNION ALL: payments_class lists a class's payments in seq order, so each part
 * reads only its newest `perClass` matches (all of them when absent), and SQLite merges the parts.
 * One composite index serves every combination of those filters this way, where one index per
 * column cost four B-tree writes per stored row (sqlite-migrations.ts, version 3).
 */
function classUnion(
  classes: unknown[][],
  where: Where,
  before: number | undefined,
  perClass?: number,
): Where {
  const conditions = whereClause(classCondition, where.sql, before === undefined ? "" : "seq < ?");
  const part =
    perClass === undefined
      ? `SELECT seq FROM payments INDEXED BY payments_class ${conditions}`
      : `SELECT seq FROM (SELECT seq FROM payments INDEXED BY payments_class ${conditions} ORDER BY seq DESC LIMIT ?)`;
  const params = classes.flatMap((key) => [
    ...key,
    ...where.params,
    ...(before === undefined ? [] : [before]),
    ...(perClass === undefined ? [] : [perClass]),
  ]);
  return { sql: classes.map(() => part).join(" UNION ALL "), params };
}

class SqlitePaymentStore implements PaymentStore {
  private readonly selectById: Database.Statement<[number, string], PaymentRow>;
  private readonly selectOne: Database.Statement<[], unknown>;
  private readonly countAll: Database.Statement<[], { n: number }>;
  private readonly nextSeq: Database.Statement<[], { n: number }>;
  // Statements for list() and recent(), by SQL text; a Map iterates oldest first (LRU eviction).
  private readonly statements = new Map<string, Database.Statement>();
  private checkpointError: string | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly retention: Retention,
    private readonly checkpointer: Checkpointer,
    private readonly writer: RestartingSqliteWriter,
  ) {
    this.selectById = db.prepare<[number, string], PaymentRow>(
      `SELECT ${columns} FROM payments WHERE id_key = ? AND id = ?`,
    );
    this.selectById.safeIntegers(true);
    this.selectOne = db.prepare("SELECT 1");
    this.countAll = db.prepare("SELECT coalesce(sum(n), 0) AS n FROM payment_counts");
    this.nextSeq = db.prepare("SELECT coalesce(max(seq), 0) + 1 AS n FROM payments");
  }

  /** Called by the checkpointer: its failure's reason, or undefined once it succeeds again. */
  setCheckpointError(error: string | undefined): void {
    this.checkpointError = error;
  }

  upsert(batch: readonly StoredPayment[]): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    return this.writer.upsert(encodePackedRows(batch), Date.now());
  }

  async get(id: string): Promise<StoredPayment | undefined> {
    const row = this.selectById.get(keyHash(id), id);
    return row && toStoredPayment(row);
  }

  async list(query: ListQuery): Promise<ListPage> {
    const before = query.cursor ? decodePageCursor(query.cursor) : undefined;
    const limit = Math.max(0, Math.floor(query.limit));
    const where = whereOf(query);
    const plan = planList(query, () => this.countEqual(query));
    const index = plan.kind === "scan" ? plan.index : undefined;
    const totalCount =
      plan.kind === "counts"
        ? this.countEqual(query)
        : ((index === undefined ? this.countByClass(query, where) : undefined) ??
          this.number(
            `SELECT count(*) AS n FROM payments${indexedBy(index)} ${whereClause(where.sql)}`,
            where,
          ));

    // The page's seqs first, from an index alone where one covers the filters; then their rows.
    // One row more than the page says whether there is a next page.
    const seqs = this.pageSeqs(query, where, index, before, limit + 1, totalCount);
    const rows = this.rowsOf(seqs);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      payments: page.map(toStoredPayment),
      nextCursor: rows.length > limit && last ? encodePageCursor(Number(last.seq)) : "",
      totalCount,
    };
  }

  async recent(filter: PaymentFilter & { topic: string }, limit: number): Promise<StoredPayment[]> {
    if (limit <= 0) return [];
    const query: PaymentQuery = { topic: filter.topic };
    if (filter.provider !== undefined) query.providers = [filter.provider];
    if (filter.status !== undefined) query.statuses = [filter.status];
    if (filter.tenant) query.tenant = filter.tenant;
    const where = whereOf(query);
    const seqs = this.pageSeqs(query, where, undefined, undefined, Math.floor(limit), this.countEqual(query));
    return this.rowsOf(seqs).reverse().map(toStoredPayment);
  }

  async topics(): Promise<string[]> {
    return this.statement("SELECT DISTINCT topic FROM payment_counts WHERE n > 0")
      .pluck(true)
      .all() as string[];
  }

  async enforceRetention(nowMs: number): Promise<number> {
    const deleted = await this.writer.enforceRetention({
      lastSeenBefore: nowMs - this.retention.maxAgeMs,
      maxPayments: this.retention.maxPayments,
      chunk: retentionChunk,
    });
    // Keeps the planner's statistics current as the table grows and shrinks (cheap when they are).
    await this.writer.optimize();
    return deleted;
  }

  /** Writer threads started after one died, since the store opened. */
  get writerRestarts(): number {
    return this.writer.restarts;
  }

  /**
   * Ends the writer thread at once, as a crash would (a new one follows): for tests that show
   * nothing is lost or stored twice when the writer dies mid-stream.
   */
  crashWriter(): Promise<void> {
    return this.writer.terminate();
  }

  async ping(): Promise<void> {
    if (!this.db.open) throw new Error("payment store is closed");
    this.selectOne.get();
    const writerProblem = this.writer.problem();
    if (writerProblem) throw new Error(writerProblem);
    if (this.checkpointError) throw new Error(`cannot checkpoint the SQLite WAL: ${this.checkpointError}`);
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    await this.writer.optimize().catch(() => undefined);
    await this.writer.stop();
    await this.checkpointer.stop();
    this.db.close();
  }

  /**
   * The seqs of the `want` newest matches below `before`. Collecting them from a range index means
   * reading every entry of the range; when the range holds many payments, the newest few thousand
   * payments usually hold a page of them, so those are tried first: a bounded read that is exact
   * whenever it finds `want` matches (nothing newer lies outside it). The same holds for equality
   * filters that admit many payments; for the rest their classes are merged (classUnion). Without
   * any of those filters, the newest payments are walked.
   */
  private pageSeqs(
    query: PaymentQuery,
    where: Where,
    index: string | undefined,
    before: number | undefined,
    want: number,
    matching: number,
  ): bigint[] {
    const classes = index === undefined ? this.matchingClasses(query) : undefined;
    if ((index || classes) && matching > windowFirstAbove) {
      const top = before ?? this.nextSeq.get()?.n ?? 1;
      const all = this.countAll.get()?.n ?? 0;
      const window = Math.min(maxWindow, Math.ceil((4 * want * all) / Math.max(matching, 1)));
      const found = this.seqStatement(
        `SELECT seq FROM payments NOT INDEXED ${whereClause(where.sql, "seq < ?", "seq >= ?")} ORDER BY seq DESC LIMIT ?`,
      ).all(...where.params, top, top - window, want) as bigint[];
      if (found.length === want) return found;
    }
    if (classes) {
      if (classes.length === 0) return [];
      const union = classUnion(classes, where, before, want);
      return this.seqStatement(`${union.sql} ORDER BY seq DESC LIMIT ?`).all(
        ...union.params,
        want,
      ) as bigint[];
    }
    const pageWhere = whereClause(where.sql, before === undefined ? "" : "seq < ?");
    const params = before === undefined ? where.params : [...where.params, before];
    // The e-mail index is the planner's to choose; otherwise the newest payments are walked.
    const from = index || query.customerEmail ? indexedBy(index) : " NOT INDEXED";
    return this.seqStatement(`SELECT seq FROM payments${from} ${pageWhere} ORDER BY seq DESC LIMIT ?`).all(
      ...params,
      want,
    ) as bigint[];
  }

  /** The payments of `seqs`, newest first. */
  private rowsOf(seqs: bigint[]): PaymentRow[] {
    if (seqs.length === 0) return [];
    return this.statement(
      `SELECT ${columns} FROM payments WHERE seq IN (SELECT value FROM json_each(?)) ORDER BY seq DESC`,
    ).all(`[${seqs.join(",")}]`) as PaymentRow[];
  }

  /**
   * The (topic, provider, status, currency) classes with payments that the query's equality
   * filters admit, from payment_counts; undefined when it has none (every class), too many to
   * merge, or an e-mail filter (whose own index is better).
   */
  private matchingClasses(query: PaymentQuery): unknown[][] | undefined {
    const equality = whereOf(query, "equality");
    if (!equality.sql || query.customerEmail) return undefined;
    const classes = this.statement(
      `SELECT topic, provider, status, currency FROM payment_counts ${whereClause(equality.sql, "n > 0")} LIMIT ${maxMergedClasses + 1}`,
    )
      .raw(true)
      .all(...equality.params) as unknown[][];
    return classes.length > maxMergedClasses ? undefined : classes;
  }

  /** Counts the matches class by class (see pageSeqs); undefined where pageSeqs does not merge. */
  private countByClass(query: PaymentQuery, where: Where): number | undefined {
    const classes = this.matchingClasses(query);
    if (!classes) return undefined;
    if (classes.length === 0) return 0;
    const union = classUnion(classes, where, undefined);
    return this.number(`SELECT count(*) AS n FROM (${union.sql})`, union);
  }

  private seqStatement(sql: string): Database.Statement {
    return this.statement(sql).pluck(true);
  }

  /** How many payments match the query's topic, provider, status and currency filters. */
  private countEqual(query: PaymentQuery): number {
    const where = whereOf(query, "equality");
    return this.number(
      `SELECT coalesce(sum(n), 0) AS n FROM payment_counts ${whereClause(where.sql)}`,
      where,
    );
  }

  private number(sql: string, where: { params: unknown[] }): number {
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

/** The embedded store, with what tests of its writer thread need. */
export type SqliteStore = SqlitePaymentStore;

/** Whether a store is the embedded SQLite store (tests reach its writer hooks through this). */
export function isSqliteStore(store: PaymentStore): store is SqliteStore {
  return store instanceof SqlitePaymentStore;
}

/** Opens (creating when missing) the store in `dataDir` and brings its schema up to date. */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  mkdirSync(options.dataDir, { recursive: true });
  const file = join(options.dataDir, sqliteFileName);
  const db = new Database(file);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 5000");
    db.pragma("temp_store = MEMORY");
    db.pragma(`cache_size = -${cacheKiB}`);
    // The checkpointer keeps the WAL far below this; the writer checkpoints only if it does not.
    db.pragma(`wal_autocheckpoint = ${backstopCheckpointPages}`);
    db.pragma(`journal_size_limit = ${walSizeLimitBytes}`);
    migrate(db);
    // Refreshes the planner's statistics when they are missing or stale (cheap: sampled).
    db.pragma("optimize = 0x10002");
  } catch (error) {
    db.close();
    throw error;
  }
  // Writes go to the writer thread from here on; this connection only reads, which in WAL mode
  // waits for a lock only in rare moments (WAL recovery), never for the length of a write.
  db.pragma("busy_timeout = 100");
  let store: SqlitePaymentStore | undefined;
  const checkpointer = startCheckpointer(file, checkpointIntervalMs, (error) =>
    store?.setCheckpointError(error),
  );
  const writer = new RestartingSqliteWriter(
    () =>
      startSqliteWriter({
        file,
        cacheKiB,
        autocheckpointPages: backstopCheckpointPages,
        walSizeLimitBytes,
      }),
    { logger: options.logger ?? pino({ enabled: false }) },
  );
  store = new SqlitePaymentStore(db, options.retention, checkpointer, writer);
  return store;
}
