// The PostgreSQL store's schema, as numbered migrations applied in order at start-up. Several pa
// instances may start at once against one database: each runs the pending migrations in one
// transaction that first takes an advisory lock, so the second waits for the first and then finds
// nothing left to do. A migration, once released, is never edited: a change is a new migration.
import type { ClientBase } from "pg";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "payments",
    sql: `
      -- Numbers payments in the order pa first saw them: list order and page cursor, never changed.
      -- CACHE 1 keeps numbers increasing across connections (and so across pa instances).
      CREATE SEQUENCE payment_seq AS bigint CACHE 1;

      CREATE TABLE payments (
        seq bigint NOT NULL DEFAULT nextval('payment_seq'),
        id text PRIMARY KEY,
        topic text NOT NULL,
        kafka_partition integer NOT NULL,
        kafka_offset bigint NOT NULL,
        kafka_timestamp_ms bigint NOT NULL,
        provider smallint NOT NULL,
        status smallint NOT NULL,
        currency text NOT NULL,
        customer_email text NOT NULL,
        amount double precision NOT NULL,
        amount_minor bigint NOT NULL,
        created_at bigint NOT NULL,
        processed_at bigint NOT NULL,
        metadata json NOT NULL DEFAULT '{}',
        first_seen_ms bigint NOT NULL,
        last_seen_ms bigint NOT NULL
      );
      ALTER SEQUENCE payment_seq OWNED BY payments.seq;

      COMMENT ON TABLE payments IS 'pa: the latest state of each payment pa processed';
      COMMENT ON COLUMN payments.seq IS 'order in which pa first saw the payment; ListPayments cursor';
      COMMENT ON COLUMN payments.provider IS 'payment.Provider enum number';
      COMMENT ON COLUMN payments.status IS 'payment.PaymentStatus enum number';
      COMMENT ON COLUMN payments.created_at IS 'unix seconds';
      COMMENT ON COLUMN payments.processed_at IS 'unix seconds';
      COMMENT ON COLUMN payments.metadata IS 'kept as written (json, not jsonb: any string round-trips)';

      -- ListPayments pages (and recent snapshots) go newest first by seq, alone or after one equality
      -- filter: each (column, seq) index below yields such a page in order. Pages of range and e-mail
      -- filters that the newest rows do not fill come from a scan of the filter's own index (seq
      -- included, so it need not visit the table), sorted.
      CREATE UNIQUE INDEX payments_seq ON payments (seq);
      CREATE INDEX payments_topic_seq ON payments (topic, seq);
      CREATE INDEX payments_provider_seq ON payments (provider, seq);
      CREATE INDEX payments_status_seq ON payments (status, seq);
      CREATE INDEX payments_currency_seq ON payments (currency, seq);
      CREATE INDEX payments_email_seq ON payments (lower(customer_email), seq);
      CREATE INDEX payments_created_at_seq ON payments (created_at, seq);
      CREATE INDEX payments_amount_minor_seq ON payments (amount_minor, seq);
      -- Age-based retention. Rows are mostly stored in the order they were last written, which is
      -- what BRIN needs; it costs writers next to nothing, where a btree would be one more tree
      -- to update per write, for a delete that runs once a minute.
      CREATE INDEX payments_last_seen ON payments USING brin (last_seen_ms) WITH (autosummarize = on);

      -- Exact row counts kept by statement-level triggers in the writing transaction, so that
      -- total_count sums a few rows instead of counting up to millions: per combination of the
      -- low-cardinality columns, per hour of created_at and per amount_minor bucket. A range is
      -- counted as the buckets it covers plus the rows of the at most two buckets it cuts.
      CREATE TABLE payment_counts (
        topic text NOT NULL,
        provider smallint NOT NULL,
        status smallint NOT NULL,
        currency text NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (topic, provider, status, currency)
      );
      COMMENT ON TABLE payment_counts IS 'pa: rows of payments per (topic, provider, status, currency)';
      -- min_seq and max_seq bound the seq of every row ever counted in the hour (they only widen):
      -- a page of a created_at range starts reading the seq index where that range's rows start.
      CREATE TABLE payment_counts_by_hour (
        hour bigint PRIMARY KEY,
        n bigint NOT NULL,
        min_seq bigint,
        max_seq bigint
      );
      COMMENT ON TABLE payment_counts_by_hour IS 'pa: rows of payments per hour of created_at (unix s / 3600)';
      -- Buckets of amount_minor by its two leading digits (1200..1299 is bucket 1200, -1299..-1200
      -- is -1200, below 100 each value is its own), about 1% of a decade each; see amountBucket()
      -- in postgres-store.ts.
      CREATE TABLE payment_counts_by_amount (
        bucket bigint PRIMARY KEY,
        n bigint NOT NULL
      );
      COMMENT ON TABLE payment_counts_by_amount IS 'pa: rows of payments per amount_minor bucket';

      -- Rows change in key order, counts first, so that concurrent writers lock them in one order.
      -- Dynamic SQL (which sees the transition tables too) lets one text serve the three events and
      -- names the count tables in the schema of payments, whatever the writer's search_path.
      CREATE FUNCTION payment_counts_add() RETURNS trigger LANGUAGE plpgsql AS $fn$
      DECLARE
        changes text := CASE TG_OP
          WHEN 'INSERT' THEN 'SELECT *, 1 AS d FROM new_rows'
          WHEN 'DELETE' THEN 'SELECT *, -1 AS d FROM old_rows'
          ELSE 'SELECT *, 1 AS d FROM new_rows UNION ALL SELECT *, -1 AS d FROM old_rows'
        END;
      BEGIN
        EXECUTE format($sql$
          INSERT INTO %I.payment_counts AS c (topic, provider, status, currency, n)
          SELECT topic, provider, status, currency, sum(d) FROM (%s) AS changes
          GROUP BY 1, 2, 3, 4 HAVING sum(d) <> 0 ORDER BY 1, 2, 3, 4
          ON CONFLICT (topic, provider, status, currency) DO UPDATE SET n = c.n + excluded.n
        $sql$, TG_TABLE_SCHEMA, changes);
        EXECUTE format($sql$
          INSERT INTO %I.payment_counts_by_hour AS c (hour, n, min_seq, max_seq)
          SELECT floor(created_at / 3600.0)::bigint, sum(d), min(seq) FILTER (WHERE d > 0),
            max(seq) FILTER (WHERE d > 0)
          FROM (%s) AS changes
          GROUP BY 1 HAVING sum(d) <> 0 ORDER BY 1
          ON CONFLICT (hour) DO UPDATE SET n = c.n + excluded.n,
            min_seq = least(c.min_seq, excluded.min_seq), max_seq = greatest(c.max_seq, excluded.max_seq)
        $sql$, TG_TABLE_SCHEMA, changes);
        EXECUTE format($sql$
          INSERT INTO %I.payment_counts_by_amount AS c (bucket, n)
          SELECT CASE WHEN abs(a) < 100 THEN a
              ELSE sign(a) * trunc(abs(a) / 10::numeric ^ (length(abs(a)::text) - 2))
                * 10::numeric ^ (length(abs(a)::text) - 2)
            END::bigint, sum(d)
          FROM (SELECT amount_minor::numeric AS a, d FROM (%s) AS changes) AS amounts
          GROUP BY 1 HAVING sum(d) <> 0 ORDER BY 1
          ON CONFLICT (bucket) DO UPDATE SET n = c.n + excluded.n
        $sql$, TG_TABLE_SCHEMA, changes);
        RETURN NULL;
      END
      $fn$;

      CREATE TRIGGER payments_count_insert AFTER INSERT ON payments
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payment_counts_add();
      CREATE TRIGGER payments_count_update AFTER UPDATE ON payments
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION payment_counts_add();
      CREATE TRIGGER payments_count_delete AFTER DELETE ON payments
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION payment_counts_add();
    `,
  },
  {
    version: 2,
    name: "covering range indexes",
    // A created_at or amount_minor range combined with an equality filter (say, currency) counted
    // and paged by visiting the table for each row of the range: 133 ms for a range of 95,000 rows
    // at 1M payments. Carrying the equality columns in the range indexes (as the SQLite store's
    // do) answers both from the index alone: 28 ms. Built before the old ones go, so queries
    // always have an index to use.
    sql: `
      CREATE INDEX payments_created_at_covering ON payments (created_at, seq)
        INCLUDE (topic, provider, status, currency);
      CREATE INDEX payments_amount_minor_covering ON payments (amount_minor, seq)
        INCLUDE (topic, provider, status, currency);
      DROP INDEX payments_created_at_seq;
      DROP INDEX payments_amount_minor_seq;
    `,
  },
];

/**
 * Brings the schema in the connection's search_path up to the newest migration. Concurrent callers
 * are serialized by a transaction-scoped advisory lock (released by COMMIT or ROLLBACK, or when the
 * connection drops), so they never apply a migration twice or see one half-applied.
 */
export async function migrate(client: ClientBase): Promise<void> {
  await client.query("BEGIN");
  try {
    // However the server or the URL set it: waiting for another instance, or building an index on
    // a big table, may take long.
    await client.query("SET LOCAL statement_timeout = 0");
    // One lock per schema: pa instances sharing a schema wait for each other, other schemas do not.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('pa.migrations.' || current_schema()))");
    await client.query(`
      CREATE TABLE IF NOT EXISTS pa_schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const applied = await client.query<{ version: number }>("SELECT version FROM pa_schema_migrations");
    const done = new Set(applied.rows.map((row) => row.version));
    // A database migrated by a newer pa is used as it is: migrations only add, so this pa's queries
    // still work during a rolling upgrade.
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query("INSERT INTO pa_schema_migrations (version, name) VALUES ($1, $2)", [
        migration.version,
        migration.name,
      ]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}
