import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { PaymentSchema, PaymentStatus, Provider } from "../../../gen/payment/payment_pb.js";
import type { PaymentQuery, Retention, StoredPayment } from "../../../server/store/payment-store.js";
import { migrations } from "../../../server/store/sqlite-migrations.js";
import { openSqliteStore, sqliteFileName } from "../../../server/store/sqlite-store.js";
import { describePaymentStoreContract } from "./payment-store-contract.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "pa-sqlite-store-"));
  dirs.push(dir);
  return dir;
}

const defaultRetention: Retention = { maxPayments: 1_000_000, maxAgeMs: 86_400_000 };

describePaymentStoreContract(
  "sqlite",
  async ({ retention = defaultRetention }) => {
    const dataDir = tempDir();
    return {
      store: await openSqliteStore({ dataDir, retention }),
      reopen: () => openSqliteStore({ dataDir, retention }),
    };
  },
  { durable: true },
);

describe("SQLite store", () => {
  it("creates DATA_DIR and records each applied migration once", async () => {
    const dataDir = join(tempDir(), "nested", "data");
    await (await openSqliteStore({ dataDir, retention: defaultRetention })).close();
    await (await openSqliteStore({ dataDir, retention: defaultRetention })).close();
    const db = new Database(join(dataDir, sqliteFileName), { readonly: true });
    expect(db.prepare("SELECT version FROM schema_migrations").all()).toEqual(
      migrations.map(({ version }) => ({ version })),
    );
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
  });

  // Past a few thousand payments, range filters read their covering index (sqlite-query.ts) or,
  // when they match many payments, the newest payments first (pageSeqs).
  it("commits writes still in flight on close, keeps them in order, and refuses writes after it", async () => {
    const dataDir = tempDir();
    const store = await openSqliteStore({ dataDir, retention: defaultRetention });
    const state = (status: PaymentStatus, offset: number): StoredPayment => ({
      payment: create(PaymentSchema, { id: "in-flight", provider: Provider.STRIPE, status, currency: "USD" }),
      source: { topic: "t", partition: 0, offset, kafkaTimestampMs: offset },
    });
    // Sent without awaiting: the writer thread applies them in the order they were sent.
    const writes = [
      PaymentStatus.STATUS_PENDING,
      PaymentStatus.STATUS_COMPLETED,
      PaymentStatus.STATUS_FAILED,
    ].map((status, offset) => store.upsert([state(status, offset + 1)]));
    await store.close();
    await Promise.all(writes);
    await expect(store.upsert([state(PaymentStatus.STATUS_FAILED, 9)])).rejects.toThrow(/closed/);

    const reopened = await openSqliteStore({ dataDir, retention: defaultRetention });
    const found = await reopened.get("in-flight");
    expect(found?.source.offset).toBe(3);
    expect(found?.payment.status).toBe(PaymentStatus.STATUS_FAILED);
    await reopened.close();
  });

  it("pages and counts range filters over many payments exactly", async () => {
    const store = await openSqliteStore({ dataDir: tempDir(), retention: defaultRetention });
    const rows: StoredPayment[] = Array.from({ length: 7000 }, (_, i) => ({
      payment: create(PaymentSchema, {
        id: `p${i}`,
        provider: (i % 3) + 1,
        status: (i % 4) + 1,
        currency: i % 2 ? "USD" : "EUR",
        // Event time runs against first-seen order in places, as late records make it.
        createdAt: 1_000_000n + BigInt((i * 7919) % 7000),
        amountMinor: BigInt((i * 104_729) % 100_000),
        customerEmail: `c${i % 50}@example.com`,
      }),
      source: { topic: i % 5 ? "busy" : "quiet", partition: 0, offset: i, kafkaTimestampMs: i },
    }));
    for (let i = 0; i < rows.length; i += 1000) await store.upsert(rows.slice(i, i + 1000));
    const queries: PaymentQuery[] = [
      { createdFrom: 1_001_000n, createdTo: 1_003_000n },
      { createdTo: 1_000_100n },
      { minAmountMinor: 99_000n },
      {
        minAmountMinor: 10_000n,
        maxAmountMinor: 60_000n,
        topic: "busy",
        statuses: [PaymentStatus.STATUS_PENDING],
      },
      { createdFrom: 1_000_000n, providers: [Provider.PAYPAL], currency: "USD" },
      { createdFrom: 1_006_000n, topic: "quiet" },
      // Thousands of matches: pages come from the newest payments first, then from the index.
      { createdFrom: 1_000_500n },
      { maxAmountMinor: 80_000n, statuses: [PaymentStatus.STATUS_PENDING, PaymentStatus.STATUS_FAILED] },
      { customerEmail: "C7@Example.com", createdFrom: 1_003_000n },
      // Equality filters alone: pages merged from each admitted class's run of payments_class.
      { topic: "quiet", statuses: [PaymentStatus.STATUS_PENDING] },
      { providers: [Provider.PAYPAL, Provider.STRIPE], currency: "USD" },
      { statuses: [PaymentStatus.STATUS_FAILED], topic: "busy", currency: "EUR" },
    ];
    for (const query of queries) {
      const expected = rows
        .filter(({ payment: p, source }) => {
          return (
            (query.topic === undefined || source.topic === query.topic) &&
            (!query.providers || query.providers.includes(p.provider)) &&
            (!query.statuses || query.statuses.includes(p.status)) &&
            (query.currency === undefined || p.currency === query.currency) &&
            (query.customerEmail === undefined || p.customerEmail === query.customerEmail.toLowerCase()) &&
            (query.createdFrom === undefined || p.createdAt >= query.createdFrom) &&
            (query.createdTo === undefined || p.createdAt < query.createdTo) &&
            (query.minAmountMinor === undefined || p.amountMinor >= query.minAmountMinor) &&
            (query.maxAmountMinor === undefined || p.amountMinor <= query.maxAmountMinor)
          );
        })
        .map((r) => r.payment.id)
        .reverse();
      const listed: string[] = [];
      let cursor: string | undefined;
      let totalCount = -1;
      do {
        const page = await store.list({ ...query, limit: 400, cursor });
        listed.push(...page.payments.map((p) => p.payment.id));
        totalCount = page.totalCount;
        cursor = page.nextCursor || undefined;
      } while (cursor);
      expect(listed).toEqual(expected);
      expect(totalCount).toBe(expected.length);
    }
    await store.close();
  });
  it("upgrades a database of schema version 1: its counts stay exact without the count triggers", async () => {
    const dataDir = tempDir();
    const file = join(dataDir, sqliteFileName);
    const old = new Database(file);
    old.pragma("journal_mode = WAL");
    old.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL);
      ${migrations[0]?.sql}
      INSERT INTO schema_migrations VALUES (1, 'payments', 0);`);
    const insert =
      old.prepare(`INSERT INTO payments (id, topic, kafka_partition, kafka_offset, kafka_timestamp_ms,
      provider, status, amount, amount_minor, currency, customer_email, email_lc, created_at, processed_at, metadata,
      first_seen_ms, last_seen_ms) VALUES (?, 'old', 0, ?, ?, ?, ?, 1.5, 150, ?, 'a@b.c', 'a@b.c', 100, 100, '{}', ?, ?)`);
    // Stored by version 1's triggers: 30 payments over 3 providers, 2 statuses, 2 currencies.
    for (let i = 0; i < 30; i++)
      insert.run(`old-${i}`, i, i, (i % 3) + 1, (i % 2) + 1, i % 2 ? "USD" : "EUR", i, Date.now());
    old.close();

    const store = await openSqliteStore({ dataDir, retention: { maxPayments: 25, maxAgeMs: 86_400_000 } });
    const count = async (query: PaymentQuery) => (await store.list({ ...query, limit: 1 })).totalCount;
    expect(await count({})).toBe(30);
    expect(await count({ providers: [Provider.STRIPE] })).toBe(10);
    // A status change of a payment stored before the upgrade moves it between counts once.
    await store.upsert([
      {
        payment: create(PaymentSchema, {
          id: "old-0",
          provider: Provider.STRIPE,
          status: PaymentStatus.STATUS_FAILED,
          currency: "EUR",
          createdAt: 100n,
        }),
        source: { topic: "old", partition: 0, offset: 100, kafkaTimestampMs: 100 },
      },
      {
        payment: create(PaymentSchema, {
          id: "new-0",
          provider: Provider.PAYPAL,
          status: PaymentStatus.STATUS_FAILED,
          currency: "EUR",
        }),
        source: { topic: "old", partition: 1, offset: 0, kafkaTimestampMs: 100 },
      },
    ]);
    expect(await count({})).toBe(31);
    expect(await count({ statuses: [PaymentStatus.STATUS_FAILED] })).toBe(2);
    expect(await count({ statuses: [PaymentStatus.STATUS_PENDING], currency: "EUR" })).toBe(14);
    // Retention deletes the 6 first seen (old-0 among them, which keeps its first-seen place).
    expect(await store.enforceRetention(Date.now())).toBe(6);
    expect(await count({})).toBe(25);
    expect(await count({ statuses: [PaymentStatus.STATUS_FAILED] })).toBe(1);
    expect(await count({ providers: [Provider.STRIPE] })).toBe(8);
    await store.close();

    const db = new Database(file, { readonly: true });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all()).toEqual([]);
    expect(db.prepare("SELECT version FROM schema_migrations").all()).toEqual(
      migrations.map(({ version }) => ({ version })),
    );
    db.close();
  });

  it("upgrades a database of schema version 3 to hashed id and e-mail keys and topic ids in place", async () => {
    const dataDir = tempDir();
    const file = join(dataDir, sqliteFileName);
    const old = new Database(file);
    old.pragma("journal_mode = WAL");
    old.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL);
      ${migrations
        .slice(0, 3)
        .map(({ sql }) => sql)
        .join("\n")}
      INSERT INTO schema_migrations VALUES (1, 'payments', 0), (2, 'counts per transaction', 0), (3, 'one class index', 0);`);
    const insert =
      old.prepare(`INSERT INTO payments (id, topic, kafka_partition, kafka_offset, kafka_timestamp_ms,
      provider, status, amount, amount_minor, currency, customer_email, email_lc, created_at, processed_at, metadata,
      first_seen_ms, last_seen_ms) VALUES (?, ?, 0, ?, ?, ?, 2, 1, ?, 'EUR', ?, ?, ?, ?, '{}', ?, ?)`);
    const addCount = old.prepare(`INSERT INTO payment_counts VALUES (?, ?, 2, 'EUR', 1)
      ON CONFLICT (topic, provider, status, currency) DO UPDATE SET n = n + 1`);
    // 20 payments on two topics, as version 3's writer stored them (counts per payment).
    for (let i = 0; i < 20; i++) {
      const topic = i % 2 ? "odd" : "even";
      const provider = (i % 3) + 1;
      const email = `Buyer${i % 4}@Example.com`;
      insert.run(
        `old-${i}`,
        topic,
        i,
        i,
        provider,
        100 * (i + 1),
        email,
        email.toLowerCase(),
        i,
        i,
        i,
        Date.now(),
      );
      addCount.run(topic, provider);
    }
    // The newest payment was deleted: its seq (21) must not be handed out again.
    insert.run("gone", "even", 99, 99, 1, 1, "x@y.z", "x@y.z", 99, 99, 99, Date.now());
    old.exec("DELETE FROM payments WHERE id = 'gone'");
    old.close();

    const store = await openSqliteStore({ dataDir, retention: defaultRetention });
    expect((await store.get("old-7"))?.payment.amountMinor).toBe(800n);
    expect((await store.get("old-7"))?.source.topic).toBe("odd");
    expect(await store.get("old-77")).toBeUndefined();
    const ids = async (query: PaymentQuery) => {
      const page = await store.list({ ...query, limit: 50 });
      expect(page.totalCount).toBe(page.payments.length);
      return page.payments.map(({ payment }) => payment.id);
    };
    expect(await ids({ customerEmail: "BUYER3@example.COM" })).toEqual([
      "old-19",
      "old-15",
      "old-11",
      "old-7",
      "old-3",
    ]);
    expect(await ids({ topic: "odd", providers: [Provider.STRIPE] })).toEqual(["old-15", "old-9", "old-3"]);
    expect(await ids({ topics: ["even"], minAmountMinor: 1500n })).toEqual(["old-18", "old-16", "old-14"]);
    expect(await ids({ topic: "odd", createdFrom: 4n, createdTo: 9n })).toEqual(["old-7", "old-5"]);

    // A payment stored after the upgrade: a topic new to topics, listed newest (after seq 21).
    await store.upsert([
      {
        payment: create(PaymentSchema, {
          id: "new-0",
          provider: Provider.STRIPE,
          status: PaymentStatus.STATUS_COMPLETED,
          currency: "EUR",
          customerEmail: "buyer3@example.com",
        }),
        source: { topic: "third", partition: 0, offset: 0, kafkaTimestampMs: 1 },
      },
      // An update of a payment stored before the upgrade is found by its id key.
      {
        payment: create(PaymentSchema, {
          id: "old-3",
          provider: Provider.PAYPAL,
          status: 2,
          currency: "EUR",
        }),
        source: { topic: "odd", partition: 0, offset: 50, kafkaTimestampMs: 50 },
      },
    ]);
    expect(await ids({ customerEmail: "buyer3@example.com" })).toEqual([
      "new-0",
      "old-19",
      "old-15",
      "old-11",
      "old-7",
    ]);
    expect(await ids({ topic: "third" })).toEqual(["new-0"]);
    expect(await ids({ topic: "odd", providers: [Provider.STRIPE] })).toEqual(["old-15", "old-9"]);
    expect((await store.list({ limit: 1 })).totalCount).toBe(21);
    await store.close();

    const db = new Database(file, { readonly: true });
    expect(db.prepare("SELECT seq FROM payments WHERE id = 'new-0'").pluck().get()).toBe(22);
    expect(
      db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'payments' ORDER BY name",
        )
        .pluck()
        .all(),
    ).toEqual([
      "payments_amount_bucket",
      "payments_class",
      "payments_created_at",
      "payments_email_key",
      "payments_id_key",
      "payments_last_seen",
    ]);
    db.close();
  });
});
