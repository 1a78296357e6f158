// The SQLite store's schema, as numbered migrations. Each one runs once, in order, inside the
// transaction that records its version in schema_migrations, so opening a store again (or two
// processes opening it at once) applies nothing twice. Never edit a released migration: add one.
import type Database from "better-sqlite3";
import { amountBucket } from "./amount-bucket.js";
import { keyHash } from "./key-hash.js";

interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "payments",
    // seq is the first-seen order: AUTOINCREMENT never reuses a number, even after retention
    // deleted the newest row, and an upsert's UPDATE keeps it. List pages and recent() walk it
    // backwards. SQLite ends every index with the rowid (seq), so a one-column index hands out
    // the matches of one value newest first. email_lc is customer_email lower-cased by the store.
    // The created_at and amount_minor indexes also carry the equality columns, so counting a range
    // combined with them never reads the table. last_seen_ms serves retention by age.
    //
    // payment_counts keeps, per (topic, provider, status, currency), how many payments there are,
    // so that a total_count over those filters sums a few rows instead of counting an index range
    // of up to every payment. The triggers keep it exact through inserts, updates and deletes.
    sql: `
      CREATE TABLE payments (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        topic TEXT NOT NULL,
        kafka_partition INTEGER NOT NULL,
        kafka_offset INTEGER NOT NULL,
        kafka_timestamp_ms INTEGER NOT NULL,
        provider INTEGER NOT NULL,
        status INTEGER NOT NULL,
        amount REAL NOT NULL,
        amount_minor INTEGER NOT NULL,
        currency TEXT NOT NULL,
        customer_email TEXT NOT NULL,
        email_lc TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        processed_at INTEGER NOT NULL,
        metadata TEXT NOT NULL,
        first_seen_ms INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL
      );
      CREATE INDEX payments_topic ON payments (topic);
      CREATE INDEX payments_provider ON payments (provider);
      CREATE INDEX payments_status ON payments (status);
      CREATE INDEX payments_currency ON payments (currency);
      CREATE INDEX payments_email ON payments (email_lc);
      CREATE INDEX payments_created_at ON payments (created_at, topic, provider, status, currency);
      CREATE INDEX payments_amount_minor ON payments (amount_minor, topic, provider, status, currency);
      CREATE INDEX payments_last_seen ON payments (last_seen_ms);

      CREATE TABLE payment_counts (
        topic TEXT NOT NULL,
        provider INTEGER NOT NULL,
        status INTEGER NOT NULL,
        currency TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (topic, provider, status, currency)
      ) WITHOUT ROWID;
      CREATE TRIGGER payments_count_insert AFTER INSERT ON payments BEGIN
        INSERT INTO payment_counts (topic, provider, status, currency, n)
          VALUES (new.topic, new.provider, new.status, new.currency, 1)
          ON CONFLICT (topic, provider, status, currency) DO UPDATE SET n = n + 1;
      END;
      CREATE TRIGGER payments_count_delete AFTER DELETE ON payments BEGIN
        UPDATE payment_counts SET n = n - 1
          WHERE topic = old.topic AND provider = old.provider AND status = old.status
            AND currency = old.currency;
      END;
      CREATE TRIGGER payments_count_update AFTER UPDATE OF topic, provider, status, currency ON payments
      WHEN new.topic IS NOT old.topic OR new.provider IS NOT old.provider
        OR new.status IS NOT old.status OR new.currency IS NOT old.currency
      BEGIN
        UPDATE payment_counts SET n = n - 1
          WHERE topic = old.topic AND provider = old.provider AND status = old.status
            AND currency = old.currency;
        INSERT INTO payment_counts (topic, provider, status, currency, n)
          VALUES (new.topic, new.provider, new.status, new.currency, 1)
          ON CONFLICT (topic, provider, status, currency) DO UPDATE SET n = n + 1;
      END;
    `,
  },
  {
    version: 2,
    name: "counts per transaction",
    // The count triggers wrote payment_counts once per stored row (about a sixth of a row's cost,
    // and the only per-row statement besides the row). The writer thread (sqlite-writer.ts) now
    // sums each transaction's changes per (topic, provider, status, currency) and writes each sum
    // once; it is the only writer, so the counts the triggers kept stay exact from here on.
    sql: `
      DROP TRIGGER payments_count_insert;
      DROP TRIGGER payments_count_delete;
      DROP TRIGGER payments_count_update;
    `,
  },
  {
    version: 3,
    name: "one class index",
    // One index per equality column (topic, provider, status, currency) cost four B-tree writes
    // per stored row (measured at 400k rows: 2.3, 4.0, 5.2 and 3.8 us of the writer's CPU per row).
    // One index on all four costs one. It lists each class's payments in seq order, so a page or a
    // recent() snapshot of any combination of those filters merges the newest few of each class
    // that payment_counts says the filter admits (classUnion in sqlite-store.ts).
    sql: `
      CREATE INDEX payments_class ON payments (topic, provider, status, currency);
      DROP INDEX payments_topic;
      DROP INDEX payments_provider;
      DROP INDEX payments_status;
      DROP INDEX payments_currency;
    `,
  },
  {
    version: 4,
    name: "compact index keys",
    // Measured at 400k rows, the indexes taking rows in random order (the unique id, the e-mail,
    // amount_minor) and the topic text repeated in three composite indexes made the index set far
    // larger than the page cache: every transaction read and wrote back most index pages. Here:
    //  - id and e-mail are indexed by key_hash (key-hash.ts; 8 bytes instead of the text), lookups
    //    compare the text too. The id's uniqueness is kept by the writer thread, the only writer,
    //    which looks a payment up before it inserts it (the old UNIQUE index did that lookup too).
    //  - topics get a small integer (topic_id, from the topics table) for the composite indexes.
    //  - the amount index is ordered by amount_bucket (amount-bucket.ts) and seq, so a row is
    //    appended to its bucket instead of written to a random page; it still holds amount_minor
    //    and the equality columns, so a range is counted from the index alone.
    // The table is rebuilt (the UNIQUE index on id cannot be dropped otherwise); seq values and the
    // AUTOINCREMENT counter carry over, so cursors and first-seen order stay valid.
    sql: `
      CREATE TABLE topics (
        topic_id INTEGER PRIMARY KEY,
        topic TEXT NOT NULL UNIQUE
      );
      INSERT INTO topics (topic) SELECT DISTINCT topic FROM payments ORDER BY topic;
      CREATE TABLE payments_v4 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL,
        id_key INTEGER NOT NULL,
        topic TEXT NOT NULL,
        topic_id INTEGER NOT NULL,
        kafka_partition INTEGER NOT NULL,
        kafka_offset INTEGER NOT NULL,
        kafka_timestamp_ms INTEGER NOT NULL,
        provider INTEGER NOT NULL,
        status INTEGER NOT NULL,
        amount REAL NOT NULL,
        amount_minor INTEGER NOT NULL,
        amount_bucket INTEGER NOT NULL,
        currency TEXT NOT NULL,
        customer_email TEXT NOT NULL,
        email_lc TEXT NOT NULL,
        email_key INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        processed_at INTEGER NOT NULL,
        metadata TEXT NOT NULL,
        first_seen_ms INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL
      );
      INSERT INTO payments_v4 (seq, id, id_key, topic, topic_id, kafka_partition, kafka_offset,
        kafka_timestamp_ms, provider, status, amount, amount_minor, amount_bucket, currency, customer_email,
        email_lc, email_key, created_at, processed_at, metadata, first_seen_ms, last_seen_ms)
      SELECT seq, id, key_hash(id), p.topic, t.topic_id, kafka_partition, kafka_offset,
        kafka_timestamp_ms, provider, status, amount, amount_minor, amount_bucket(amount_minor), currency,
        customer_email, email_lc,
        key_hash(email_lc), created_at, processed_at, metadata, first_seen_ms, last_seen_ms
      FROM payments p JOIN topics t ON t.topic = p.topic ORDER BY seq;
      DELETE FROM sqlite_sequence WHERE name = 'payments_v4';
      INSERT INTO sqlite_sequence (name, seq)
        SELECT 'payments_v4', seq FROM sqlite_sequence WHERE name = 'payments';
      DROP TABLE payments;
      ALTER TABLE payments_v4 RENAME TO payments;
      CREATE INDEX payments_id_key ON payments (id_key);
      CREATE INDEX payments_email_key ON payments (email_key);
      CREATE INDEX payments_class ON payments (topic_id, provider, status, currency);
      CREATE INDEX payments_created_at ON payments (created_at, topic_id, provider, status, currency);
      CREATE INDEX payments_amount_bucket
        ON payments (amount_bucket, seq, amount_minor, topic_id, provider, status, currency);
      CREATE INDEX payments_last_seen ON payments (last_seen_ms);
    `,
  },
];

/** Applies the migrations `db` has not recorded yet; returns the versions it applied. */
export function migrate(db: Database.Database): number[] {
  db.exec(`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at_ms INTEGER NOT NULL
    )
  `);
  const isApplied = db.prepare<[number], { version: number }>(
    "SELECT version FROM schema_migrations WHERE version = ?",
  );
  const record = db.prepare<[number, string, number]>(
    "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)",
  );
  // Migration 4 computes the index keys of stored rows with the writer's own hash.
  db.function("key_hash", { deterministic: true }, (text: unknown) => keyHash(String(text)));
  db.function("amount_bucket", { deterministic: true, safeIntegers: true }, (minor: unknown) =>
    amountBucket(BigInt(minor as bigint)),
  );
  const applied: number[] = [];
  // IMMEDIATE takes the write lock first, so a second process waits and then finds them applied.
  db.transaction(() => {
    for (const migration of migrations) {
      if (isApplied.get(migration.version)) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
      applied.push(migration.version);
    }
  }).immediate();
  return applied;
}
