// The PaymentStore on PostgreSQL, used when DATABASE_URL is set: one table of latest payment states
// (schema in postgres-migrations.ts) that several pa instances can share. Writes are one statement
// per batch whose conflict clause applies isNewerState's rule, so an older record never overwrites
// a newer one whichever instance writes it. A database outage rejects the calls made meanwhile;
// the pool reconnects by itself when the server is back.
import { create } from "@bufbuild/protobuf";
import pg from "pg";
import { PaymentSchema } from "../../gen/payment/payment_pb.js";
import { decodePageCursor, encodePageCursor } from "./page-cursor.js";
import {
  isNewerState,
  type ListPage,
  type ListQuery,
  type PaymentFilter,
  type PaymentQuery,
  type PaymentStore,
  type Retention,
  type StoredPayment,
} from "./payment-store.js";
import { migrate } from "./postgres-migrations.js";

export interface PostgresStoreOptions {
  /** A libpq-style connection URL (postgres://user:password@host:port/database?options=...). */
  url: string;
  retention: Retention;
  /** Connections in the pool (default 10). */
  poolSize?: number;
}

/** Rows deleted per statement by retention, so no delete holds locks or bloats WAL for long. */
const RETENTION_CHUNK = 5_000;
/** A batch larger than this is written in several statements (bounded memory and parameter size). */
const MAX_STATEMENT_ROWS = 10_000;
const CONNECT_TIMEOUT_MS = 5_000;
const STATEMENT_TIMEOUT_MS = 30_000;
const QUERY_TIMEOUT_MS = 60_000;

const COLUMNS = `seq, id, topic, kafka_partition, kafka_offset, kafka_timestamp_ms, provider, status, currency,
  customer_email, amount, amount_minor, created_at, processed_at, metadata, first_seen_ms, last_seen_ms`;

interface PaymentRow {
  seq: string;
  id: string;
  topic: string;
  kafka_partition: number;
  kafka_offset: string;
  kafka_timestamp_ms: string;
  provider: number;
  status: number;
  currency: string;
  customer_email: string;
  amount: number;
  amount_minor: string;
  created_at: string;
  processed_at: string;
  metadata: Record<string, string>;
  first_seen_ms: string;
  last_seen_ms: string;
}

function toStored(row: PaymentRow): StoredPayment {
  return {
    payment: create(PaymentSchema, {
      id: row.id,
      provider: row.provider,
      amount: row.amount,
      currency: row.currency,
      status: row.status,
      customerEmail: row.customer_email,
      createdAt: BigInt(row.created_at),
      processedAt: BigInt(row.processed_at),
      metadata: row.metadata,
      amountMinor: BigInt(row.amount_minor),
    }),
    source: {
      topic: row.topic,
      partition: row.kafka_partition,
      offset: Number(row.kafka_offset),
      kafkaTimestampMs: Number(row.kafka_timestamp_ms),
    },
    firstSeenMs: Number(row.first_seen_ms),
    lastSeenMs: Number(row.last_seen_ms),
  };
}

// PostgreSQL text cannot hold U+0000, and one such string would fail the whole batch, again on every
// retry; it is stored as U+FFFD. (Metadata is JSON text, where it stays escaped and exact.)
const storableText = (text: string) => (text.includes("\0") ? text.replaceAll("\0", "\uFFFD") : text);

/**
 * One row per payment id, the newest state of it in the batch by isNewerState, in the order the
 * batch first mentions each id: seq is drawn in that order, as if the records were written one by
 * one.
 */
function dedupe(batch: readonly StoredPayment[]): StoredPayment[] {
  const newest = new Map<string, StoredPayment>();
  for (const record of batch) {
    const id = storableText(record.payment.id);
    const current = newest.get(id);
    if (!current || isNewerState(record, current)) newest.set(id, record);
  }
  return [...newest.values()];
}

// Array parameters: numbers are sent as ready-made array literals; text goes through pg's quoting.
const numericArray = (values: readonly (number | bigint)[]) => `{${values.join(",")}}`;

// Sequence numbers are drawn in batch order, then rows are written in id order: concurrent writers
// of overlapping batches (pa instances reading the same topic) lock rows in one order and so never
// deadlock. An update keeps the row's seq (a number drawn for it is simply skipped). The conflict
// clause is isNewerState: by offset within a partition, else by event time then Kafka time; an
// equal record is not newer, so replays change nothing, not even last_seen_ms.
const UPSERT_SQL = `
WITH input AS MATERIALIZED (
  SELECT t.*, nextval('payment_seq') AS seq
  FROM unnest($1::text[], $2::text[], $3::integer[], $4::bigint[], $5::bigint[], $6::smallint[],
    $7::smallint[], $8::text[], $9::text[], $10::double precision[], $11::bigint[], $12::bigint[],
    $13::bigint[], $14::json[])
  AS t(id, topic, kafka_partition, kafka_offset, kafka_timestamp_ms, provider, status, currency,
    customer_email, amount, amount_minor, created_at, processed_at, metadata)
)
INSERT INTO payments AS p (seq, id, topic, kafka_partition, kafka_offset, kafka_timestamp_ms, provider,
  status, currency, customer_email, amount, amount_minor, created_at, processed_at, metadata,
  first_seen_ms, last_seen_ms)
SELECT seq, id, topic, kafka_partition, kafka_offset, kafka_timestamp_ms, provider, status, currency,
  customer_email, amount, amount_minor, created_at, processed_at, metadata, $15::bigint, $15::bigint
FROM input ORDER BY id COLLATE "C"
ON CONFLICT (id) DO UPDATE SET
  topic = excluded.topic, kafka_partition = excluded.kafka_partition,
  kafka_offset = excluded.kafka_offset, kafka_timestamp_ms = excluded.kafka_timestamp_ms,
  provider = excluded.provider, status = excluded.status, currency = excluded.currency,
  customer_email = excluded.customer_email, amount = excluded.amount, amount_minor = excluded.amount_minor,
  created_at = excluded.created_at, processed_at = excluded.processed_at, metadata = excluded.metadata,
  last_seen_ms = excluded.last_seen_ms
WHERE CASE
  WHEN p.topic = excluded.topic AND p.kafka_partition = excluded.kafka_partition
    THEN excluded.kafka_offset > p.kafka_offset
  ELSE (excluded.created_at, excluded.kafka_timestamp_ms) > (p.created_at, p.kafka_timestamp_ms)
END`;

function upsertParams(records: readonly StoredPayment[], nowMs: number): unknown[] {
  const column = <T>(pick: (record: StoredPayment) => T) => records.map(pick);
  return [
    column((r) => storableText(r.payment.id)),
    column((r) => storableText(r.source.topic)),
    numericArray(column((r) => r.source.partition)),
    numericArray(column((r) => r.source.offset)),
    numericArray(column((r) => r.source.kafkaTimestampMs)),
    numericArray(column((r) => r.payment.provider)),
    numericArray(column((r) => r.payment.status)),
    column((r) => storableText(r.payment.currency)),
    column((r) => storableText(r.payment.customerEmail)),
    numericArray(column((r) => r.payment.amount)),
    numericArray(column((r) => r.payment.amountMinor)),
    numericArray(column((r) => r.payment.createdAt)),
    numericArray(column((r) => r.payment.processedAt)),
    column((r) => JSON.stringify(r.payment.metadata)),
    nowMs,
  ];
}

/**
 * A query's filters as SQL terms: `counted` on the columns payment_counts is keyed by (so their
 * matches can be counted there), `other` on the rest. `params` holds the values of both, $1 first;
 * more can be appended with `param`. Empty strings and lists mean "any", as in the other stores.
 */
class Filters {
  readonly counted: string[] = [];
  readonly other: string[] = [];
  readonly params: unknown[] = [];
  /** The "any of" filters with more than one value, also among `counted`. */
  readonly anyOfMany: { column: string; values: number[]; term: string }[] = [];

  constructor(query: PaymentQuery) {
    if (query.topic) this.counted.push(`topic = ${this.param(storableText(query.topic))}`);
    if (query.topics) {
      const topics = [...new Set(query.topics.map(storableText))];
      this.counted.push(`topic = ANY(${this.param(topics)}::text[])`);
    }
    this.anyOf("provider", query.providers);
    this.anyOf("status", query.statuses);
    if (query.currency) this.counted.push(`currency = ${this.param(storableText(query.currency))}`);
    if (query.customerEmail) {
      const email = this.param(storableText(query.customerEmail));
      this.other.push(`lower(customer_email) = lower(${email})`);
    }
    if (query.tenant) {
      const { key, value } = query.tenant;
      this.other.push(`metadata ->> ${this.param(key)} = ${this.param(storableText(value))}`);
    }
    if (query.createdFrom !== undefined) this.other.push(`created_at >= ${this.param(query.createdFrom)}`);
    if (query.createdTo !== undefined) this.other.push(`created_at < ${this.param(query.createdTo)}`);
    if (query.minAmountMinor !== undefined) {
      this.other.push(`amount_minor >= ${this.param(query.minAmountMinor)}`);
    }
    if (query.maxAmountMinor !== undefined) {
      this.other.push(`amount_minor <= ${this.param(query.maxAmountMinor)}`);
    }
  }

  /** Adds a parameter value and returns its placeholder. */
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  // One value is an equality, which a (column, seq) index serves in page order.
  private anyOf(column: string, values: readonly number[] | undefined): void {
    const distinct = [...new Set(values ?? [])];
    if (distinct.length === 1) this.counted.push(`${column} = ${this.param(distinct[0])}`);
    if (distinct.length > 1) {
      const term = `${column} = ANY(${this.param(distinct)}::smallint[])`;
      this.counted.push(term);
      this.anyOfMany.push({ column, values: distinct, term });
    }
  }
}

function where(...terms: (string | undefined)[]): string {
  const present = terms.filter((term): term is string => Boolean(term));
  return present.length > 0 ? `WHERE ${present.join(" AND ")}` : "";
}

const HOUR = 3600n;
const floorDiv = (a: bigint, b: bigint) => a / b - (a % b !== 0n && a < 0n ? 1n : 0n);
const ceilDiv = (a: bigint, b: bigint) => -floorDiv(-a, b);

/**
 * The bucket of payment_counts_by_amount holding `amount` (the migration computes the same key):
 * the values sharing its two leading digits and sign, or the value alone below 100. `start` and
 * `end` bound it, end excluded.
 */
function amountBucket(amount: bigint): { key: bigint; start: bigint; end: bigint } {
  const magnitude = amount < 0n ? -amount : amount;
  if (magnitude < 100n) return { key: amount, start: amount, end: amount + 1n };
  const width = 10n ** BigInt(magnitude.toString().length - 2);
  const floor = (magnitude / width) * width;
  return amount >= 0n
    ? { key: floor, start: floor, end: floor + width }
    : { key: -floor, start: -floor - width + 1n, end: -floor + 1n };
}

interface BucketedRange {
  /** The column and the table of its bucket counts, keyed by `key`. */
  column: string;
  table: string;
  key: string;
  /** Bucket key of a bucket boundary (where a bucket starts). */
  keyAt(boundary: bigint): bigint;
  /** The range [from, to) (either end open when undefined)... */
  from?: bigint;
  to?: bigint;
  /** ...and [first, end), the part of it its whole buckets cover (bucket boundaries). */
  first?: bigint;
  end?: bigint;
}

/**
 * The count of a range of a column from its buckets: the buckets the range covers whole, summed
 * from their table, plus the rows of the cut buckets at either end, counted by the column's index.
 * Undefined when the range lies within at most two buckets: counting its rows directly is as cheap.
 */
function bucketedCount(filters: Filters, range: BucketedRange): string | undefined {
  const { column, table, key, keyAt, from, to, first, end } = range;
  if (first !== undefined && end !== undefined && first >= end) return undefined;
  const parts = [
    `(SELECT coalesce(sum(n), 0) FROM ${table} ${where(
      first !== undefined ? `${key} >= ${filters.param(keyAt(first))}` : undefined,
      end !== undefined ? `${key} < ${filters.param(keyAt(end))}` : undefined,
    )})`,
  ];
  if (from !== undefined && first !== undefined && from < first) {
    const [a, b] = [filters.param(from), filters.param(first)];
    parts.push(`(SELECT count(*) FROM payments WHERE ${column} >= ${a} AND ${column} < ${b})`);
  }
  if (to !== undefined && end !== undefined && end < to) {
    const [a, b] = [filters.param(end), filters.param(to)];
    parts.push(`(SELECT count(*) FROM payments WHERE ${column} >= ${a} AND ${column} < ${b})`);
  }
  return `SELECT ${parts.join(" + ")} AS total_count`;
}

/** SQL for the exact number of payments matching the query, as a one-row total_count. */
function totalCountSql(filters: Filters, query: PaymentQuery): string {
  const { counted, other } = filters;
  if (other.length === 0) {
    return `SELECT coalesce(sum(n), 0) AS total_count FROM payment_counts ${where(...counted)}`;
  }
  const { createdFrom, createdTo, minAmountMinor, maxAmountMinor } = query;
  const created = createdFrom !== undefined || createdTo !== undefined;
  const amount = minAmountMinor !== undefined || maxAmountMinor !== undefined;
  const onlyOneRange = counted.length === 0 && !query.customerEmail && !query.tenant && created !== amount;
  let bucketed: string | undefined;
  if (onlyOneRange && created) {
    // Hour h holds created_at in [h * 3600, (h + 1) * 3600).
    bucketed = bucketedCount(filters, {
      column: "created_at",
      table: "payment_counts_by_hour",
      key: "hour",
      keyAt: (boundary) => boundary / HOUR,
      ...(createdFrom !== undefined ? { from: createdFrom, first: ceilDiv(createdFrom, HOUR) * HOUR } : {}),
      ...(createdTo !== undefined ? { to: createdTo, end: floorDiv(createdTo, HOUR) * HOUR } : {}),
    });
  } else if (onlyOneRange && amount) {
    // A bucket's key lies inside it, so the buckets within [first, end) are the keys there.
    const low = minAmountMinor !== undefined ? amountBucket(minAmountMinor) : undefined;
    const high = maxAmountMinor !== undefined ? amountBucket(maxAmountMinor) : undefined;
    bucketed = bucketedCount(filters, {
      column: "amount_minor",
      table: "payment_counts_by_amount",
      key: "bucket",
      keyAt: (boundary) => boundary,
      ...(low && minAmountMinor !== undefined
        ? { from: minAmountMinor, first: minAmountMinor === low.start ? low.start : low.end }
        : {}),
      ...(high && maxAmountMinor !== undefined
        ? { to: maxAmountMinor + 1n, end: maxAmountMinor + 1n === high.end ? high.end : high.start }
        : {}),
    });
  }
  return bucketed ?? `SELECT count(*) AS total_count FROM payments ${where(...counted, ...other)}`;
}

/** How many payments a page of e-mail or range filters looks through before using their indexes. */
const PROBE_ROWS = 2_000;

/** SQL for up to `size` payments matching the query, newest first, before the cursor's seq. */
function pageSql(filters: Filters, query: PaymentQuery, before: number | undefined, size: number): string {
  const { counted, other } = filters;
  const cursor = before !== undefined ? `seq < ${filters.param(before)}` : undefined;
  const limit = filters.param(size);
  const [split] = filters.anyOfMany;
  if (other.length === 0 && split) {
    // "Any of" several values: the newest of each value's own (column, seq) index, merged. The
    // planner would rather walk the seq index, assuming the values are spread evenly over time,
    // and read far when the newest rows have other values (say, none refunded lately).
    const rest = counted.filter((term) => term !== split.term);
    const branches = split.values.map(
      (value) =>
        `(SELECT seq FROM payments ${where(...rest, `${split.column} = ${filters.param(value)}`, cursor)}
          ORDER BY seq DESC LIMIT ${limit})`,
    );
    return `
      SELECT ${COLUMNS} FROM payments WHERE seq IN (
        SELECT seq FROM (${branches.join(" UNION ALL ")}) AS merged ORDER BY seq DESC LIMIT ${limit}
      ) ORDER BY seq DESC`;
  }
  if (other.length === 0) {
    // The (column, seq) index of an equality filter, or the seq index, read backwards.
    return `SELECT ${COLUMNS} FROM payments ${where(...counted, cursor)} ORDER BY seq DESC LIMIT ${limit}`;
  }
  // E-mail and range filters. The planner would read the seq index backwards until enough rows
  // match, assuming matches are spread evenly over it; but created_at follows seq, so a past date
  // range sits far from the newest rows and that walk reads most of the table. Instead: look
  // through the PROBE_ROWS newest rows that can match (a created_at range's rows lie within the
  // seq bounds of its hours); that finds the page when matches are dense there, as in a recent,
  // a wide or a past range. When it holds too few, find every match by the filters' own indexes
  // (OFFSET 0 keeps the planner from turning that back into the walk) and keep the newest.
  const bounds: string[] = [];
  const { createdFrom: from, createdTo: to } = query;
  if (from !== undefined || to !== undefined) {
    const hours = where(
      from !== undefined ? `hour >= ${filters.param(floorDiv(from, HOUR))}` : undefined,
      to !== undefined ? `hour <= ${filters.param(floorDiv(to - 1n, HOUR))}` : undefined,
    );
    bounds.push(
      `seq <= (SELECT max(max_seq) FROM payment_counts_by_hour ${hours})`,
      `seq >= (SELECT min(min_seq) FROM payment_counts_by_hour ${hours})`,
    );
  }
  const all = where(...counted, ...other);
  return `
    SELECT ${COLUMNS} FROM payments WHERE seq IN (
      WITH probe AS MATERIALIZED (
        SELECT seq FROM (
          SELECT * FROM payments ${where(...bounds, cursor)} ORDER BY seq DESC LIMIT ${PROBE_ROWS}
        ) AS newest ${all} ORDER BY seq DESC LIMIT ${limit}
      )
      SELECT seq FROM probe WHERE (SELECT count(*) FROM probe) >= ${limit}
      UNION ALL
      (SELECT seq FROM (SELECT seq FROM payments ${where(...counted, ...other, cursor)} OFFSET 0) AS matching
        WHERE (SELECT count(*) FROM probe) < ${limit} ORDER BY seq DESC LIMIT ${limit})
    ) ORDER BY seq DESC`;
}

/** Retries a statement that PostgreSQL chose as a deadlock victim (rare: writers lock in order). */
async function withDeadlockRetry<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= 3 || (error as { code?: string }).code !== "40P01") throw error;
    }
  }
}

class PostgresPaymentStore implements PaymentStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly retention: Retention,
  ) {}

  async upsert(batch: readonly StoredPayment[]): Promise<void> {
    if (batch.length === 0) return;
    const nowMs = Date.now();
    const records = dedupe(batch);
    for (let start = 0; start < records.length; start += MAX_STATEMENT_ROWS) {
      const values = upsertParams(records.slice(start, start + MAX_STATEMENT_ROWS), nowMs);
      await withDeadlockRetry(() => this.pool.query({ name: "pa_upsert", text: UPSERT_SQL, values }));
    }
  }

  async get(id: string): Promise<StoredPayment | undefined> {
    const result = await this.pool.query<PaymentRow>({
      name: "pa_get",
      text: `SELECT ${COLUMNS} FROM payments WHERE id = $1`,
      values: [storableText(id)],
    });
    const row = result.rows[0];
    return row ? toStored(row) : undefined;
  }

  async list(query: ListQuery): Promise<ListPage> {
    const before = query.cursor ? decodePageCursor(query.cursor) : undefined;
    const limit = Math.max(0, Math.floor(query.limit));
    const filters = new Filters(query);
    // One statement, so the count and the page see the same snapshot; an empty page still
    // returns one row, with only total_count set.
    const total = totalCountSql(filters, query);
    const page = pageSql(filters, query, before, limit + 1);
    const result = await this.pool.query<PaymentRow & { total_count: string }>(
      `SELECT t.total_count, page.* FROM (${total}) AS t LEFT JOIN LATERAL (${page}) AS page ON true`,
      filters.params,
    );
    const rows = result.rows.filter((row) => row.id !== null);
    const payments = rows.slice(0, limit);
    const last = payments.at(-1);
    return {
      payments: payments.map(toStored),
      nextCursor: last && rows.length > limit ? encodePageCursor(Number(last.seq)) : "",
      totalCount: Number(result.rows[0]?.total_count ?? 0),
    };
  }

  async recent(filter: PaymentFilter & { topic: string }, limit: number): Promise<StoredPayment[]> {
    if (limit <= 0) return [];
    const filters = new Filters({
      topic: filter.topic,
      ...(filter.provider !== undefined ? { providers: [filter.provider] } : {}),
      ...(filter.status !== undefined ? { statuses: [filter.status] } : {}),
      ...(filter.tenant ? { tenant: filter.tenant } : {}),
    });
    const result = await this.pool.query<PaymentRow>(
      `SELECT ${COLUMNS} FROM payments ${where(...filters.counted, ...filters.other)}
       ORDER BY seq DESC LIMIT ${filters.param(Math.floor(limit))}`,
      filters.params,
    );
    return result.rows.reverse().map(toStored);
  }

  async topics(): Promise<string[]> {
    const result = await this.pool.query<{ topic: string }>({
      name: "pa_topics",
      text: "SELECT DISTINCT topic FROM payment_counts WHERE n > 0",
    });
    return result.rows.map((row) => row.topic);
  }

  async enforceRetention(nowMs: number): Promise<number> {
    const client = await this.pool.connect();
    // A connection lost while checked out reports here instead of crashing the process; the query
    // in flight rejects, and release(error) below discards the connection.
    const onError = () => {};
    client.on("error", onError);
    let failure: unknown;
    try {
      // One instance at a time: two would each delete the same excess.
      const lock = await client.query<{ locked: boolean }>(
        "SELECT pg_try_advisory_lock(hashtext('pa.retention.' || current_schema())) AS locked",
      );
      if (!lock.rows[0]?.locked) return 0;
      try {
        return await this.deleteExpired(client, nowMs);
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtext('pa.retention.' || current_schema()))");
      }
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      client.off("error", onError);
      client.release(failure instanceof Error ? failure : undefined);
    }
  }

  private async deleteExpired(client: pg.PoolClient, nowMs: number): Promise<number> {
    let deleted = 0;
    const cutoff = nowMs - this.retention.maxAgeMs;
    if (Number.isFinite(cutoff)) {
      for (;;) {
        const result = await client.query(
          `DELETE FROM payments WHERE seq IN (
             SELECT seq FROM payments WHERE last_seen_ms < $1 LIMIT $2)`,
          [Math.floor(cutoff), RETENTION_CHUNK],
        );
        deleted += result.rowCount ?? 0;
        if ((result.rowCount ?? 0) < RETENTION_CHUNK) break;
      }
    }
    for (;;) {
      const counted = await client.query<{ total: string }>(
        "SELECT coalesce(sum(n), 0)::bigint AS total FROM payment_counts",
      );
      const excess = Number(counted.rows[0]?.total ?? 0) - this.retention.maxPayments;
      if (excess <= 0) break;
      const result = await client.query(
        "DELETE FROM payments WHERE seq IN (SELECT seq FROM payments ORDER BY seq LIMIT $1)",
        [Math.min(excess, RETENTION_CHUNK)],
      );
      deleted += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) === 0) break;
    }
    if (deleted > 0) {
      await client.query("DELETE FROM payment_counts WHERE n = 0");
      await client.query("DELETE FROM payment_counts_by_hour WHERE n = 0");
    }
    return deleted;
  }

  async ping(): Promise<void> {
    await this.pool.query("SELECT 1");
  }

  async close(): Promise<void> {
    if (this.pool.ending) return;
    await this.pool.end();
  }
}

/**
 * Connects to PostgreSQL, brings the schema up to date and returns the store. Rejects (and leaves no
 * connection open) when the database cannot be reached or migrated.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PaymentStore> {
  await migrateOnce(options.url);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    // A statement stuck behind locks fails on the server; a server that stopped answering (a
    // black-holed network) fails the call here, and keepalives notice it on idle connections.
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    keepAlive: true,
    application_name: "pa",
    // pa's rows are read by index from memory or SSD. With the default random_page_cost (4, for
    // spinning disks) the planner serves a page of several equality filters by walking the seq
    // index over tens of thousands of rows instead of one filter's index over a few thousand.
    // Only pa's own sessions get this.
    onConnect: async (client) => {
      await client.query("SET random_page_cost = 1.1");
    },
  });
  // A connection the server or the network closes while idle emits 'error' on the pool, which then
  // drops it and opens a new one on the next call. Without a listener that event would crash the
  // process; the calls made during an outage reject with the cause instead.
  pool.on("error", () => {});
  return new PostgresPaymentStore(pool, options.retention);
}

// On a connection of its own, without the pool's timeouts: waiting for another instance's
// migration, or a migration building an index on a big table, may take a while.
async function migrateOnce(url: string): Promise<void> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    application_name: "pa (migration)",
  });
  // Connection errors surface as the rejection of the call in flight.
  client.on("error", () => {});
  try {
    await client.connect();
    await migrate(client);
  } finally {
    await client.end().catch(() => {});
  }
}
