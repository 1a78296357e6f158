// The PostgreSQL store against the real local cluster (test/support/postgres-global-setup.ts): the
// shared PaymentStore contract, then what only a shared database server brings: several pa
// instances writing and migrating at once, and the server going away and coming back.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { PaymentSchema, PaymentStatus, Provider } from "../../../gen/payment/payment_pb.js";
import {
  isNewerState,
  type PaymentQuery,
  type PaymentStore,
  type StoredPayment,
} from "../../../server/store/payment-store.js";
import { migrations } from "../../../server/store/postgres-migrations.js";
import { openPostgresStore } from "../../../server/store/postgres-store.js";
import { describePaymentStoreContract } from "./payment-store-contract.js";

const run = promisify(execFile);
const postgresScript = fileURLToPath(new URL("../../../scripts/postgres.sh", import.meta.url));
const retention = { maxPayments: 1_000_000, maxAgeMs: 24 * 3600_000 };

const baseUrl = inject("postgresUrl");
const schemas: string[] = [];

/** A schema of its own for each test (isolation without a database per test), dropped at the end. */
async function freshSchema(): Promise<string> {
  const schema = `pa_test_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  schemas.push(schema);
  return schema;
}

function urlFor(schema: string): string {
  return `${baseUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

afterAll(async () => {
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await admin.end();
  }
});

// A schema of its own per store opened, so each contract test starts from an empty store.
describePaymentStoreContract(
  "PostgreSQL",
  async (options) => {
    const url = urlFor(await freshSchema());
    const opened = { url, retention: options.retention ?? retention };
    return { store: await openPostgresStore(opened), reopen: () => openPostgresStore(opened) };
  },
  { durable: true },
);

function record(
  id: string,
  source: { topic: string; partition: number; offset: number },
  status: PaymentStatus,
  createdAt: bigint,
): StoredPayment {
  return {
    payment: create(PaymentSchema, {
      id,
      provider: Provider.STRIPE,
      amount: 12.5,
      currency: "USD",
      status,
      customerEmail: `${id}@example.com`,
      createdAt,
      processedAt: createdAt,
      metadata: { order: id },
      amountMinor: 1250n,
    }),
    source: { ...source, kafkaTimestampMs: Number(createdAt) * 1000 + source.offset },
  };
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

async function countRows(schema: string, where = "true"): Promise<number> {
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    const result = await admin.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${schema}.payments WHERE ${where}`,
    );
    return Number(result.rows[0]?.n);
  } finally {
    await admin.end();
  }
}

describe("PostgreSQL store shared by several pa instances", () => {
  it("ends with the newest state of each payment when two instances write the same ids at once", async () => {
    const url = urlFor(await freshSchema());
    const [a, b] = await Promise.all([
      openPostgresStore({ url, retention, poolSize: 4 }),
      openPostgresStore({ url, retention, poolSize: 4 }),
    ]);
    try {
      // Each payment moves through four states, in two partitions and a second topic; both
      // instances get every record, each in its own random order and batches.
      const statuses = [
        PaymentStatus.STATUS_PENDING,
        PaymentStatus.STATUS_COMPLETED,
        PaymentStatus.STATUS_FAILED,
        PaymentStatus.STATUS_REFUNDED,
      ];
      const records: StoredPayment[] = [];
      for (let n = 0; n < 2_000; n++) {
        const id = `pay-${n}`;
        statuses.forEach((status, step) => {
          const source =
            step < 2
              ? { topic: "payments", partition: n % 2, offset: n * 10 + step }
              : { topic: step === 2 ? "payments" : "payments.replayed", partition: 2, offset: n * 10 + step };
          records.push(record(id, source, status, 1_700_000_000n + BigInt(step)));
        });
      }
      const expected = new Map<string, StoredPayment>();
      for (const r of records) {
        const current = expected.get(r.payment.id);
        if (!current || isNewerState(r, current)) expected.set(r.payment.id, r);
      }
      const writeAll = async (store: PaymentStore) => {
        const order = shuffled(records);
        const writes: Promise<void>[] = [];
        for (let i = 0; i < order.length; i += 250) writes.push(store.upsert(order.slice(i, i + 250)));
        await Promise.all(writes);
      };
      await Promise.all([writeAll(a), writeAll(b)]);

      for (const [id, newest] of expected) {
        const stored = await a.get(id);
        expect(stored?.payment.status, id).toBe(newest.payment.status);
        expect(stored?.source, id).toEqual(newest.source);
      }
      // The per-filter counts, kept by triggers under concurrent writers, agree with the rows.
      const page = await b.list({ limit: 1, statuses: [PaymentStatus.STATUS_REFUNDED] });
      expect(page.totalCount).toBe(2_000);
      expect((await b.list({ limit: 1 })).totalCount).toBe(2_000);
      expect((await b.list({ limit: 1, topic: "payments" })).totalCount).toBe(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("migrates once when several instances start at the same time", async () => {
    const schema = await freshSchema();
    const url = urlFor(schema);
    const stores = await Promise.all(Array.from({ length: 5 }, () => openPostgresStore({ url, retention })));
    try {
      const admin = new pg.Client({ connectionString: baseUrl });
      await admin.connect();
      try {
        const applied = await admin.query<{ version: number }>(
          `SELECT version FROM ${schema}.pa_schema_migrations ORDER BY version`,
        );
        expect(applied.rows.map((row) => row.version)).toEqual(migrations.map((m) => m.version));
      } finally {
        await admin.end();
      }
      await stores[0]?.upsert([
        record("p1", { topic: "t", partition: 0, offset: 1 }, PaymentStatus.STATUS_PENDING, 1n),
      ]);
      expect((await stores[4]?.get("p1"))?.payment.status).toBe(PaymentStatus.STATUS_PENDING);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it("keeps total_count exact through updates that change the counted columns and retention", async () => {
    const schema = await freshSchema();
    const store = await openPostgresStore({
      url: urlFor(schema),
      retention: { maxPayments: 30, maxAgeMs: 60_000 },
    });
    try {
      const first = Array.from({ length: 50 }, (_, n) =>
        record(
          `c-${n}`,
          { topic: n % 2 ? "odd" : "even", partition: 0, offset: n },
          PaymentStatus.STATUS_PENDING,
          1n,
        ),
      );
      await store.upsert(first);
      // Half of them complete, from another topic (newer by event time).
      await store.upsert(
        first
          .slice(0, 25)
          .map((r, n) =>
            record(
              r.payment.id,
              { topic: "moved", partition: 0, offset: n },
              PaymentStatus.STATUS_COMPLETED,
              2n,
            ),
          ),
      );
      const check = async () => {
        const cases: [PaymentQuery, string][] = [
          [{}, "true"],
          [{ topic: "moved" }, "topic = 'moved'"],
          [{ topic: "odd" }, "topic = 'odd'"],
          [{ statuses: [PaymentStatus.STATUS_PENDING] }, "status = 1"],
          [
            { statuses: [PaymentStatus.STATUS_PENDING, PaymentStatus.STATUS_COMPLETED], currency: "USD" },
            "true",
          ],
        ];
        for (const [query, where] of cases) {
          expect((await store.list({ limit: 1, ...query })).totalCount, where).toBe(
            await countRows(schema, where),
          );
        }
      };
      await check();
      expect(await store.enforceRetention(Date.now())).toBe(20);
      expect(await countRows(schema)).toBe(30);
      await check();
      expect(await store.enforceRetention(Date.now() + 120_000)).toBe(30);
      await check();
    } finally {
      await store.close();
    }
  });
});

describe("PostgreSQL store: text PostgreSQL cannot hold", () => {
  it("stores U+0000 in text as U+FFFD instead of failing the batch, and keeps it in metadata", async () => {
    const store = await openPostgresStore({ url: urlFor(await freshSchema()), retention });
    try {
      const odd = record(
        "nul\u0000id",
        { topic: "t", partition: 0, offset: 1 },
        PaymentStatus.STATUS_PENDING,
        1n,
      );
      odd.payment.customerEmail = "a\u0000b@example.com";
      odd.payment.metadata = { "k\u0000": "v\u0000" };
      await store.upsert([
        odd,
        record("plain", { topic: "t", partition: 0, offset: 2 }, PaymentStatus.STATUS_PENDING, 1n),
      ]);
      const got = await store.get("nul\u0000id");
      expect(got?.payment.id).toBe("nul\uFFFDid");
      expect(got?.payment.customerEmail).toBe("a\uFFFDb@example.com");
      expect(got?.payment.metadata).toEqual({ "k\u0000": "v\u0000" });
      expect((await store.list({ limit: 5, customerEmail: "A\u0000B@example.com" })).totalCount).toBe(1);
      expect((await store.get("plain"))?.payment.id).toBe("plain");
    } finally {
      await store.close();
    }
  });
});

describe("PostgreSQL store: counts and pages of range filters", () => {
  // total_count of a range comes from bucket tables plus the cut buckets, and its pages start from
  // bucket seq bounds: checked here against plain SQL over data that exercises both.
  it("counts and pages created_at and amount_minor ranges exactly", async () => {
    const schema = await freshSchema();
    const store = await openPostgresStore({ url: urlFor(schema), retention });
    const admin = new pg.Client({ connectionString: baseUrl });
    await admin.connect();
    try {
      const base = 1_700_000_000n - (1_700_000_000n % 3600n);
      const amounts = [-123_456n, -1_000n, -250n, -99n, -1n, 0n, 1n, 99n, 100n, 109n, 110n, 999n, 1_000n];
      const random = (n: number) => Math.floor(Math.random() * n);
      const written: StoredPayment[] = [];
      for (let n = 0; n < 3_000; n++) {
        // Mostly in arrival order, some late and some early, over about twelve hours.
        const drift = n % 10 === 0 ? random(40_000) - 20_000 : random(600);
        const r = record(
          `r-${n}`,
          { topic: "t", partition: n % 3, offset: n },
          PaymentStatus.STATUS_PENDING,
          base + BigInt(n * 15 + drift),
        );
        r.payment.amountMinor =
          n % 4 === 0 ? (amounts[random(amounts.length)] ?? 0n) : BigInt(random(2_000_000)) - 50_000n;
        written.push(r);
      }
      for (let i = 0; i < written.length; i += 500) await store.upsert(written.slice(i, i + 500));
      // Changes move some payments to other hours and amount buckets; retention deletes others.
      const moved = written.slice(0, 120).map((r, n) => {
        const next = record(
          r.payment.id,
          { ...r.source, offset: 10_000 + n },
          PaymentStatus.STATUS_COMPLETED,
          r.payment.createdAt + 5_000n,
        );
        next.payment.amountMinor = r.payment.amountMinor * 3n + 7n;
        return next;
      });
      await store.upsert(moved);
      await admin.query(`DELETE FROM ${schema}.payments WHERE id IN ('r-200', 'r-201', 'r-7', 'r-8')`);

      const truth = async (condition: string, params: unknown[]) => {
        const result = await admin.query<{ id: string }>(
          `SELECT id FROM ${schema}.payments WHERE ${condition} ORDER BY seq DESC`,
          params,
        );
        return result.rows.map((row) => row.id);
      };
      const edges = [
        base - 7_200n,
        base,
        base + 1n,
        base + 3_599n,
        base + 3_600n,
        base + 20_000n,
        base + 43_201n,
      ];
      const queries: [PaymentQuery, string, unknown[]][] = [];
      for (let i = 0; i < 40; i++) {
        const a = i < 14 ? (edges[i % edges.length] as bigint) : base + BigInt(random(50_000)) - 5_000n;
        const b = a + BigInt(1 + random(i % 3 === 0 ? 3_600 : 40_000));
        queries.push([{ createdFrom: a, createdTo: b }, "created_at >= $1 AND created_at < $2", [a, b]]);
        if (i % 5 === 0) queries.push([{ createdFrom: a }, "created_at >= $1", [a]]);
        if (i % 5 === 1) queries.push([{ createdTo: b }, "created_at < $1", [b]]);
      }
      const amountEdges = [
        -123_456n,
        -1_000n,
        -1_001n,
        -100n,
        -99n,
        0n,
        99n,
        100n,
        109n,
        110n,
        999n,
        1_000n,
        1_099n,
      ];
      for (let i = 0; i < 40; i++) {
        const min =
          i < 26 ? (amountEdges[i % amountEdges.length] as bigint) : BigInt(random(2_000_000)) - 60_000n;
        const max = min + BigInt(random(i % 2 ? 5_000_000 : 1_500));
        queries.push([
          { minAmountMinor: min, maxAmountMinor: max },
          "amount_minor >= $1 AND amount_minor <= $2",
          [min, max],
        ]);
        if (i % 5 === 0) queries.push([{ minAmountMinor: min }, "amount_minor >= $1", [min]]);
        if (i % 5 === 1) queries.push([{ maxAmountMinor: max }, "amount_minor <= $1", [max]]);
      }
      for (const [query, condition, params] of queries) {
        const expected = await truth(condition, params);
        const label = JSON.stringify(query, (_, v) => (typeof v === "bigint" ? `${v}n` : v));
        const first = await store.list({ ...query, limit: 20 });
        expect(first.totalCount, label).toBe(expected.length);
        expect(
          first.payments.map((p) => p.payment.id),
          label,
        ).toEqual(expected.slice(0, 20));
        if (first.nextCursor) {
          const second = await store.list({ ...query, limit: 20, cursor: first.nextCursor });
          expect(
            second.payments.map((p) => p.payment.id),
            label,
          ).toEqual(expected.slice(20, 40));
        }
      }
    } finally {
      await admin.end();
      await store.close();
    }
  });
});

describe("PostgreSQL store when the server goes away", () => {
  it("rejects calls while the server is down and works again once it is back", async () => {
    const url = urlFor(await freshSchema());
    const store = await openPostgresStore({ url, retention, poolSize: 3 });
    const p = (n: number, status: PaymentStatus) =>
      record("outage", { topic: "t", partition: 0, offset: n }, status, 1_700_000_000n);
    try {
      await store.upsert([p(1, PaymentStatus.STATUS_PENDING)]);
      // Idle connections in the pool, which the shutdown will break.
      await Promise.all([store.get("outage"), store.ping(), store.list({ limit: 5 })]);

      await run("bash", [postgresScript, "down"], { timeout: 60_000 });
      try {
        await expect(store.ping()).rejects.toThrow();
        await expect(store.get("outage")).rejects.toThrow();
        await expect(store.upsert([p(2, PaymentStatus.STATUS_COMPLETED)])).rejects.toThrow();
        await expect(store.list({ limit: 5 })).rejects.toThrow();
        await expect(store.recent({ topic: "t" }, 5)).rejects.toThrow();
        await expect(store.enforceRetention(Date.now())).rejects.toThrow();
        await expect(openPostgresStore({ url, retention })).rejects.toThrow();
      } finally {
        await run("bash", [postgresScript, "up"], { timeout: 120_000 });
      }

      await store.ping();
      await store.upsert([p(3, PaymentStatus.STATUS_REFUNDED)]);
      expect((await store.get("outage"))?.payment.status).toBe(PaymentStatus.STATUS_REFUNDED);
      expect((await store.list({ limit: 5 })).totalCount).toBe(1);
    } finally {
      await store.close();
    }
  });
});
