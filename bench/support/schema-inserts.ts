// The store scenario's view baselines: each engine's own shell (Debian's sqlite3, psql) inserting
// the payments pa stores into pa's own schema (every migration: the same table, indexes, count
// tables and, on PostgreSQL, count triggers), 2,000 rows per transaction in one multi-row INSERT.
// What the engine itself does with pa's schema on this machine, so the view's write rate can be
// read against it. The rows are normalized by pa's own parser first and written to a SQL script;
// only the shell process running the script is timed.
import { execFileSync, spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { createPaymentGenerator } from "../../server/demo/payment-generator.js";
import { DEFAULT_AMOUNT_UNITS, parseAmountUnits } from "../../server/payment/amount-units.js";
import { parsePayment } from "../../server/payment/parse-payment.js";
import { amountBucket } from "../../server/store/amount-bucket.js";
import { keyHash } from "../../server/store/key-hash.js";
import { migrate as migratePostgres } from "../../server/store/postgres-migrations.js";
import { migrate } from "../../server/store/sqlite-migrations.js";
import { sqliteCacheKiB } from "../../server/store/sqlite-store.js";
import { REPO_ROOT } from "./pa-process.js";
import type { RawInsertResult } from "./raw-inserts.js";

const BATCH = 2_000;
const PARTITIONS = 3;

// pa's columns; SQLite's schema also keeps what its indexes hold (sqlite-migrations.ts, version 4):
// the id's key_hash, the topic's topic_id, the amount's bucket, the lower-cased e-mail and its key_hash.
const columns = (sqliteKeys: boolean) =>
  `id, ${sqliteKeys ? "id_key, " : ""}topic, ${sqliteKeys ? "topic_id, " : ""}kafka_partition, kafka_offset,
  kafka_timestamp_ms, provider, status, amount, amount_minor, ${sqliteKeys ? "amount_bucket, " : ""}currency,
  customer_email,
  ${sqliteKeys ? "email_lc, email_key, " : ""}created_at, processed_at, metadata, first_seen_ms, last_seen_ms`;
// The topic_id pa's writer gives the run's only topic.
const TOPIC_ID = 1;

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** Installs Debian's `pkg` when `command` is missing (scripts/lib/system-packages.sh). */
function ensureCommand(command: string, pkg: string): void {
  execFileSync(
    "bash",
    [
      "-c",
      `command -v ${command} >/dev/null || { source "${path.join(REPO_ROOT, "scripts/lib/system-packages.sh")}" && ensure_packages ${pkg}; }`,
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
}

/**
 * Writes the SQL script of `count` payments (the scenario's seed) to `file`: `prelude`, then one
 * transaction of BATCH rows after another.
 */
async function writeScript(
  file: string,
  prelude: string,
  sqliteKeys: boolean,
  topic: string,
  count: number,
  seed: number,
) {
  const out = createWriteStream(file);
  const write = (text: string) =>
    out.write(text) ? Promise.resolve() : new Promise<void>((resolve) => out.once("drain", () => resolve()));
  await write(prelude);
  const generator = createPaymentGenerator({ seed });
  const rules = { amountUnits: parseAmountUnits(DEFAULT_AMOUNT_UNITS) };
  const nowMs = Date.now();
  for (let done = 0; done < count; done += BATCH) {
    const values: string[] = [];
    for (let i = done; i < Math.min(done + BATCH, count); i++) {
      const outcome = parsePayment(
        Buffer.from(generator.valid().value),
        { kafkaTimestampMs: nowMs, nowMs },
        rules,
      );
      if (!outcome.ok) throw new Error(`the generator made an invalid payment: ${outcome.invalid.reason}`);
      const p = outcome.payment;
      values.push(
        `(${[
          quote(p.id),
          ...(sqliteKeys ? [keyHash(p.id)] : []),
          quote(topic),
          ...(sqliteKeys ? [TOPIC_ID] : []),
          i % PARTITIONS,
          Math.floor(i / PARTITIONS),
          nowMs,
          p.provider,
          p.status,
          p.amount,
          p.amountMinor,
          ...(sqliteKeys ? [amountBucket(p.amountMinor)] : []),
          quote(p.currency),
          quote(p.customerEmail),
          ...(sqliteKeys
            ? [quote(p.customerEmail.toLowerCase()), keyHash(p.customerEmail.toLowerCase())]
            : []),
          p.createdAt,
          p.processedAt,
          quote(JSON.stringify(p.metadata)),
          nowMs,
          nowMs,
        ].join(",")})`,
      );
    }
    await write(
      `BEGIN;\nINSERT INTO payments (${columns(sqliteKeys)}) VALUES\n${values.join(",\n")};\nCOMMIT;\n`,
    );
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}

/** sqlite3 inserting the same `count` payments as pa stores them into pa's schema; only sqlite3 timed. */
export async function sqliteCliInsert(topic: string, count: number, seed: number): Promise<RawInsertResult> {
  ensureCommand("sqlite3", "sqlite3");
  const dir = mkdtempSync(path.join(os.tmpdir(), "pa-bench-sqlite3-"));
  try {
    const file = path.join(dir, "payments.sqlite");
    const db = new Database(file);
    migrate(db);
    db.close();
    const script = path.join(dir, "insert.sql");
    // pa's writer connection (sqlite-writer.ts, sqlite-store.ts); the checkpointer thread pa runs
    // beside it has no counterpart here, so the shell checkpoints when the WAL reaches its limit.
    const prelude =
      `PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -${sqliteCacheKiB}; ` +
      "PRAGMA temp_store = MEMORY;\n" +
      `INSERT INTO topics (topic_id, topic) VALUES (${TOPIC_ID}, ${quote(topic)});\n`;
    await writeScript(script, prelude, true, topic, count, seed);
    const insertMs = await timeShell("sqlite3", ["-bail", file, `.read ${script}`]);
    const check = new Database(file, { readonly: true });
    try {
      const rows = (check.prepare("SELECT count(*) AS n FROM payments").get() as { n: number }).n;
      return { rows, insertMs };
    } finally {
      check.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the shell to its end; the milliseconds it took. */
async function timeShell(command: string, args: string[]): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "inherit"] });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`)),
    );
  });
  return performance.now() - started;
}

/**
 * psql inserting the same `count` payments into pa's schema, migrated into a schema of its own in
 * the database at `url` (dropped afterwards); only psql timed.
 */
export async function psqlInsert(
  url: string,
  topic: string,
  count: number,
  seed: number,
): Promise<RawInsertResult> {
  ensureCommand("psql", "postgresql-client");
  const schema = "pa_bench_psql_alone";
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const dir = mkdtempSync(path.join(os.tmpdir(), "pa-bench-psql-"));
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`SET search_path = ${schema}`);
    await migratePostgres(client);
    const script = path.join(dir, "insert.sql");
    await writeScript(script, `SET search_path = ${schema};\n`, false, topic, count, seed);
    const insertMs = await timeShell("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", script]);
    const stored = await client.query<{ n: string }>("SELECT count(*) AS n FROM payments");
    return { rows: Number(stored.rows[0]?.n ?? 0), insertMs };
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await client.end();
    rmSync(dir, { recursive: true, force: true });
  }
}
