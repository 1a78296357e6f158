// The store scenario's second baseline: each engine inserting the same payments directly, with no
// Kafka and no pa in between, into a bare table (the payment's fields, primary key on the id, no
// other index), one transaction per 2,000 rows. What the engine itself does on this machine, so
// pa's write rate can be read against it. Only the inserts are timed, not generating the rows.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { createPaymentGenerator } from "../../server/demo/payment-generator.js";

const BATCH = 2_000;

/** One payment's fields as the bare table stores them, in its column order. */
type RawRow = [
  id: string,
  provider: string,
  amount: string,
  currency: string,
  status: string,
  customerEmail: string,
  createdAt: number,
  metadata: string,
];

export interface RawInsertResult {
  rows: number;
  /** Time spent in the insert transactions only. */
  insertMs: number;
}

/** The same payments the scenario preloaded (same seed), `BATCH` at a time. */
function* batches(count: number, seed: number): Generator<RawRow[]> {
  const generator = createPaymentGenerator({ seed });
  for (let done = 0; done < count; done += BATCH) {
    const batch: RawRow[] = [];
    for (let i = 0; i < Math.min(BATCH, count - done); i++) {
      const raw = JSON.parse(generator.valid().value) as Record<string, unknown>;
      batch.push([
        String(raw.id),
        String(raw.provider),
        String(raw.amount),
        String(raw.currency),
        String(raw.status),
        String(raw.customer_email),
        Number(raw.timestamp),
        JSON.stringify(raw.metadata),
      ]);
    }
    yield batch;
  }
}

/** better-sqlite3 into a fresh file with pa's settings (WAL, synchronous NORMAL, 64 MiB cache). */
export function sqliteRawInsert(count: number, seed: number): RawInsertResult {
  const dir = mkdtempSync(path.join(os.tmpdir(), "pa-bench-raw-"));
  const db = new Database(path.join(dir, "raw.sqlite"));
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    // pa's writer's page cache (sqlite-store.ts): with SQLite's default 2 MB, inserting random ids
    // into a million-row index reads and writes pages from disk, and the baseline would measure that.
    db.pragma("cache_size = -65536");
    db.exec(`CREATE TABLE payments (
      id TEXT PRIMARY KEY, provider TEXT, amount TEXT, currency TEXT, status TEXT,
      customer_email TEXT, created_at INTEGER, metadata TEXT)`);
    const insert = db.prepare("INSERT INTO payments VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    const insertBatch = db.transaction((rows: RawRow[]) => {
      for (const row of rows) insert.run(row);
    });
    let insertMs = 0;
    for (const batch of batches(count, seed)) {
      const started = performance.now();
      insertBatch(batch);
      insertMs += performance.now() - started;
    }
    const stored = (db.prepare("SELECT count(*) AS n FROM payments").get() as { n: number }).n;
    return { rows: stored, insertMs };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * PostgreSQL through node-postgres: one INSERT ... SELECT FROM unnest(arrays) per batch (2,000 rows
 * in one statement, its own transaction), into a table created and dropped here.
 */
export async function postgresRawInsert(url: string, count: number, seed: number): Promise<RawInsertResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE bench_raw_payments (
      id text PRIMARY KEY, provider text, amount text, currency text, status text,
      customer_email text, created_at bigint, metadata text)`);
    let insertMs = 0;
    for (const batch of batches(count, seed)) {
      const columns = Array.from({ length: 8 }, (_, c) => batch.map((row) => row[c]));
      const started = performance.now();
      await client.query(
        `INSERT INTO bench_raw_payments SELECT * FROM unnest($1::text[], $2::text[], $3::text[],
          $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[])`,
        columns,
      );
      insertMs += performance.now() - started;
    }
    const stored = await client.query<{ n: string }>("SELECT count(*) AS n FROM bench_raw_payments");
    return { rows: Number(stored.rows[0]?.n ?? 0), insertMs };
  } finally {
    await client.query("DROP TABLE IF EXISTS bench_raw_payments").catch(() => {});
    await client.end();
  }
}
