// What every PaymentStore engine must do, as one vitest suite that each engine's test file runs.
// Tests never assume an empty store: each one writes under its own topics and ids (a fresh
// namespace per test) and filters on them, so an engine may share one database across tests.
// Where a test must look at the whole store (filters alone, retention) it checks only what holds
// whatever else is stored. Tests of one file run one at a time.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PaymentSchema, PaymentStatus, Provider } from "../../../gen/payment/payment_pb.js";
import {
  InvalidCursorError,
  type ListPage,
  type ListQuery,
  type PaymentQuery,
  type PaymentStore,
  type Retention,
  type StoredPayment,
} from "../../../server/store/payment-store.js";

export interface OpenedStore {
  store: PaymentStore;
  /** Opens the same data again after `store.close()`, as a restart would; absent: not durable. */
  reopen?: () => Promise<PaymentStore>;
}

/** How the suite opens a store: with `retention` when given, else bounds no test reaches. */
export type OpenStore = (options: { retention?: Retention }) => Promise<OpenedStore>;

const roomyRetention: Retention = { maxPayments: 1_000_000_000, maxAgeMs: 365 * 24 * 3600 * 1000 };
const T0 = 1_750_000_000n;
// Engines take first/last seen from their own clock; a database server's may be a little off ours.
const clockToleranceMs = 100;
// Long enough for a millisecond clock to move on between two writes.
const tick = () => sleep(15);

interface RecordSpec {
  topic?: string;
  partition?: number;
  offset?: number;
  kafkaTimestampMs?: number;
  provider?: Provider;
  status?: PaymentStatus;
  currency?: string;
  customerEmail?: string;
  createdAt?: bigint;
  amountMinor?: bigint;
  metadata?: Record<string, string>;
}

/** `durable`: the engine keeps its data across a close and reopen (the memory engine does not). */
export function describePaymentStoreContract(
  engine: string,
  open: OpenStore,
  { durable }: { durable: boolean },
): void {
  describe(`PaymentStore contract: ${engine}`, () => {
    const run = randomUUID().slice(0, 8);
    let testNumber = 0;
    let ns = "";
    let opened: OpenedStore;
    let store: PaymentStore;
    const stores: PaymentStore[] = [];

    const topic = (name = "a") => `t-${ns}-${name}`;
    const pid = (name: string | number) => `${ns}-${name}`;

    function record(id: string | number, spec: RecordSpec = {}): StoredPayment {
      const createdAt = spec.createdAt ?? T0;
      const amountMinor = spec.amountMinor ?? 5000n;
      return {
        payment: create(PaymentSchema, {
          id: pid(id),
          provider: spec.provider ?? Provider.STRIPE,
          amount: Number(amountMinor) / 100,
          amountMinor,
          currency: spec.currency ?? "USD",
          status: spec.status ?? PaymentStatus.STATUS_PENDING,
          customerEmail: spec.customerEmail ?? `buyer.${ns}@example.com`,
          createdAt,
          processedAt: createdAt + 1n,
          metadata: spec.metadata ?? { order: String(id) },
        }),
        source: {
          topic: spec.topic ?? topic(),
          partition: spec.partition ?? 0,
          offset: spec.offset ?? 0,
          kafkaTimestampMs: spec.kafkaTimestampMs ?? Number(createdAt) * 1000,
        },
      };
    }

    async function openStore(retention: Retention = roomyRetention): Promise<PaymentStore> {
      opened = await open({ retention });
      stores.push(opened.store);
      return opened.store;
    }

    async function reopen(): Promise<PaymentStore> {
      if (!opened.reopen) throw new Error("this engine is not durable");
      await store.close();
      store = await opened.reopen();
      stores.push(store);
      return store;
    }

    /** Every page of a query, first to last, checking what each page must say. */
    async function walk(query: Omit<ListQuery, "cursor">, between?: (page: number) => Promise<void>) {
      const pages: ListPage[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list({ ...query, cursor });
        expect(page.payments.length).toBeLessThanOrEqual(query.limit);
        if (page.nextCursor) expect(page.payments.length).toBe(query.limit);
        pages.push(page);
        cursor = page.nextCursor || undefined;
        if (cursor && between) await between(pages.length);
        expect(pages.length).toBeLessThan(10_000);
      } while (cursor);
      return { pages, ids: pages.flatMap((page) => page.payments.map((p) => p.payment.id)) };
    }

    const ids = (payments: readonly StoredPayment[]) => payments.map((p) => p.payment.id);
    const own = (list: readonly string[]) => list.filter((id) => id.startsWith(`${ns}-`));

    function expectSameState(actual: StoredPayment | undefined, expected: StoredPayment): void {
      expect(actual).toBeDefined();
      expect(actual?.payment).toEqual(expected.payment);
      expect(actual?.source).toEqual(expected.source);
    }

    async function countAll(): Promise<number> {
      return (await store.list({ limit: 1 })).totalCount;
    }

    beforeEach(async () => {
      ns = `${run}-${++testNumber}`;
      store = await openStore();
    });

    afterEach(async () => {
      for (const each of stores.splice(0)) await each.close().catch(() => {});
    });

    describe("upsert and get", () => {
      it("returns undefined for an unknown id", async () => {
        expect(await store.get(pid("nobody"))).toBeUndefined();
      });

      it("stores a payment with its source, first seen and last seen", async () => {
        const written = record(1);
        const before = Date.now();
        await store.upsert([written]);
        const after = Date.now();
        const got = await store.get(pid(1));
        expectSameState(got, written);
        expect(got?.firstSeenMs).toBeGreaterThanOrEqual(before - clockToleranceMs);
        expect(got?.firstSeenMs).toBeLessThanOrEqual(after + clockToleranceMs);
        expect(got?.lastSeenMs).toBeGreaterThanOrEqual(got?.firstSeenMs ?? Number.NaN);
      });

      it("takes a status change at a later offset of the same partition", async () => {
        await store.upsert([record(1, { offset: 10 })]);
        const completed = record(1, { offset: 11, status: PaymentStatus.STATUS_COMPLETED });
        await store.upsert([completed]);
        expectSameState(await store.get(pid(1)), completed);
      });

      it("ignores an earlier offset of the same partition, even with a later event time", async () => {
        const completed = record(1, { offset: 11, status: PaymentStatus.STATUS_COMPLETED });
        await store.upsert([completed]);
        await store.upsert([
          record(1, { offset: 10, status: PaymentStatus.STATUS_FAILED, createdAt: T0 + 100n }),
        ]);
        expectSameState(await store.get(pid(1)), completed);
      });

      it("across partitions, takes the later event time whatever the offsets", async () => {
        await store.upsert([record(1, { partition: 0, offset: 100, createdAt: T0 })]);
        const later = record(1, {
          partition: 1,
          offset: 5,
          createdAt: T0 + 10n,
          status: PaymentStatus.STATUS_COMPLETED,
        });
        await store.upsert([later]);
        expectSameState(await store.get(pid(1)), later);
        await store.upsert([
          record(1, { partition: 2, offset: 999, createdAt: T0 + 5n, status: PaymentStatus.STATUS_FAILED }),
        ]);
        expectSameState(await store.get(pid(1)), later);
      });

      it("across partitions with equal event times, takes the later Kafka timestamp; equal: keeps", async () => {
        await store.upsert([record(1, { partition: 0, offset: 7, kafkaTimestampMs: 1_000 })]);
        const later = record(1, {
          partition: 1,
          offset: 3,
          kafkaTimestampMs: 2_000,
          status: PaymentStatus.STATUS_COMPLETED,
        });
        await store.upsert([later]);
        expectSameState(await store.get(pid(1)), later);
        await store.upsert([
          record(1, {
            partition: 2,
            offset: 9,
            kafkaTimestampMs: 2_000,
            status: PaymentStatus.STATUS_FAILED,
          }),
          record(1, {
            partition: 3,
            offset: 9,
            kafkaTimestampMs: 1_500,
            status: PaymentStatus.STATUS_FAILED,
          }),
        ]);
        expectSameState(await store.get(pid(1)), later);
      });

      it("across topics, applies the event-time rule and moves the payment to the newer topic", async () => {
        await store.upsert([record(1, { topic: topic("a"), partition: 0, offset: 50, createdAt: T0 })]);
        const moved = record(1, {
          topic: topic("b"),
          partition: 0,
          offset: 1,
          createdAt: T0 + 1n,
          status: PaymentStatus.STATUS_COMPLETED,
        });
        await store.upsert([moved]);
        expectSameState(await store.get(pid(1)), moved);
        // The same partition number of another topic is not the same partition: offsets do not count.
        await store.upsert([record(1, { topic: topic("a"), partition: 0, offset: 60, createdAt: T0 })]);
        expectSameState(await store.get(pid(1)), moved);
        expect(ids((await store.list({ topic: topic("a"), limit: 10 })).payments)).toEqual([]);
        expect(ids((await store.list({ topic: topic("b"), limit: 10 })).payments)).toEqual([pid(1)]);
        expect(ids(await store.recent({ topic: topic("a") }, 10))).toEqual([]);
        expect(ids(await store.recent({ topic: topic("b") }, 10))).toEqual([pid(1)]);
      });

      it("keeps the newest of several states of one payment in one batch, in any order", async () => {
        const refunded = record(1, { offset: 3, status: PaymentStatus.STATUS_REFUNDED });
        await store.upsert([
          record(1, { offset: 1 }),
          refunded,
          record(1, { offset: 2, status: PaymentStatus.STATUS_COMPLETED }),
        ]);
        expectSameState(await store.get(pid(1)), refunded);
        const moved = record(2, { partition: 4, offset: 1, createdAt: T0 + 9n });
        await store.upsert([moved, record(2, { partition: 3, offset: 8, createdAt: T0 + 2n })]);
        expectSameState(await store.get(pid(2)), moved);
      });

      it("changes nothing when a record is written again, nor when an older one arrives", async () => {
        const first = record(1, { offset: 5 });
        await store.upsert([first]);
        const stored = await store.get(pid(1));
        await tick();
        await store.upsert([first]);
        await store.upsert([record(1, { offset: 4, status: PaymentStatus.STATUS_FAILED })]);
        expect(await store.get(pid(1))).toEqual(stored);
      });

      it("keeps first seen and moves last seen when a newer state arrives", async () => {
        await store.upsert([record(1, { offset: 1 })]);
        const inserted = await store.get(pid(1));
        await tick();
        await store.upsert([record(1, { offset: 2, status: PaymentStatus.STATUS_COMPLETED })]);
        const updated = await store.get(pid(1));
        expect(updated?.firstSeenMs).toBe(inserted?.firstSeenMs);
        expect(updated?.lastSeenMs).toBeGreaterThan(inserted?.lastSeenMs ?? Number.POSITIVE_INFINITY);
      });

      it("is idempotent: replaying a whole batch changes nothing", async () => {
        const batch = [
          ...Array.from({ length: 12 }, (_, i) => record(i, { offset: i, createdAt: T0 + BigInt(i) })),
          record(3, { offset: 20, status: PaymentStatus.STATUS_COMPLETED }),
          record(7, { partition: 1, offset: 2, createdAt: T0 + 50n, status: PaymentStatus.STATUS_FAILED }),
        ];
        await store.upsert(batch);
        const snapshot = async () => ({
          pages: (await walk({ topic: topic(), limit: 5 })).pages,
          got: await Promise.all(batch.map((r) => store.get(r.payment.id))),
        });
        const before = await snapshot();
        await tick();
        await store.upsert(batch);
        await store.upsert(batch.slice(3, 9));
        expect(await snapshot()).toEqual(before);
        expect(before.pages[0]?.totalCount).toBe(12);
      });

      it("round-trips metadata, int64s beyond 2^53 and doubles exactly", async () => {
        const written = record("exact", {
          amountMinor: BigInt(Number.MAX_SAFE_INTEGER),
          createdAt: 4_102_444_800n,
          partition: 2_147_483_647,
          offset: 2 ** 40 + 1,
          kafkaTimestampMs: 4_102_444_800_123,
          metadata: {
            order_id: "ord_1",
            "ключ ✓": "значение — ✓ 🎉",
            empty: "",
            quoted: '"x" \\ y',
            json: '{"nested":[1,2]}',
          },
        });
        written.payment.amount = 90_071_992_547_409.91;
        written.payment.processedAt = 9_007_199_254_740_993n;
        const beyond = record("beyond", { amountMinor: 9_007_199_254_740_993n });
        const negative = record("negative", { amountMinor: -250n, createdAt: 0n });
        await store.upsert([written, beyond, negative]);
        expectSameState(await store.get(pid("exact")), written);
        expectSameState(await store.get(pid("beyond")), beyond);
        expectSameState(await store.get(pid("negative")), negative);
        const page = await store.list({
          topic: topic(),
          minAmountMinor: 9_007_199_254_740_993n,
          maxAmountMinor: 9_007_199_254_740_993n,
          limit: 10,
        });
        expect(ids(page.payments)).toEqual([pid("beyond")]);
        expect(page.payments[0]?.payment.amountMinor).toBe(9_007_199_254_740_993n);
      });

      it("stores a payment with empty metadata and no customer email", async () => {
        const bare = record("bare", { metadata: {}, customerEmail: "" });
        await store.upsert([bare]);
        expectSameState(await store.get(pid("bare")), bare);
        const listed = await store.list({ topic: topic(), limit: 10 });
        expect(listed.payments[0]?.payment).toEqual(bare.payment);
        const byEmail = await store.list({
          topic: topic(),
          customerEmail: `buyer.${ns}@example.com`,
          limit: 10,
        });
        expect(byEmail.totalCount).toBe(0);
      });
    });

    describe("list", () => {
      it("pages newest first by first-seen order, each payment exactly once", async () => {
        // Event times run backwards and some payments change later: neither changes the order.
        const written = Array.from({ length: 23 }, (_, i) =>
          record(i, { offset: i, createdAt: T0 + 1000n - BigInt(i) }),
        );
        await store.upsert(written.slice(0, 8));
        await store.upsert(written.slice(8, 15));
        await store.upsert(written.slice(15));
        await store.upsert([record(2, { offset: 100, status: PaymentStatus.STATUS_COMPLETED })]);
        const { pages, ids: listed } = await walk({ topic: topic(), limit: 5 });
        expect(pages.map((page) => page.payments.length)).toEqual([5, 5, 5, 5, 3]);
        expect(pages.every((page) => page.totalCount === 23)).toBe(true);
        expect(pages.at(-1)?.nextCursor).toBe("");
        expect(listed).toEqual(written.map((r) => r.payment.id).reverse());
        const updated = pages.flatMap((page) => page.payments).find((p) => p.payment.id === pid(2));
        expect(updated?.payment.status).toBe(PaymentStatus.STATUS_COMPLETED);
        expect(updated?.firstSeenMs).toBeTypeOf("number");
      });

      it("ends without an empty page when the rows fill the last page exactly", async () => {
        await store.upsert(Array.from({ length: 10 }, (_, i) => record(i, { offset: i })));
        const { pages } = await walk({ topic: topic(), limit: 5 });
        expect(pages.map((page) => page.payments.length)).toEqual([5, 5]);
        const single = await store.list({ topic: topic(), limit: 50 });
        expect(single.payments).toHaveLength(10);
        expect(single.nextCursor).toBe("");
      });

      it("pages without duplicates or gaps while payments arrive and change between pages", async () => {
        const original = Array.from({ length: 30 }, (_, i) => record(i, { offset: i }));
        await store.upsert(original);
        let next = 30;
        let offset = 100;
        // The page after which each payment was first changed.
        const changedAfter = new Map<string, number>();
        const { pages, ids: listed } = await walk({ topic: topic(), limit: 7 }, async (page) => {
          // New payments, a change of one already listed, and of some not listed yet.
          const arrivals = Array.from({ length: 4 }, () => record(next++, { offset: offset++ }));
          const changes = [29 - page * 7 + 3, 29 - page * 7 - 2, 1].map((n) =>
            record(n, { offset: offset++, status: PaymentStatus.STATUS_COMPLETED, createdAt: T0 + 5n }),
          );
          for (const { payment } of changes) {
            if (!changedAfter.has(payment.id)) changedAfter.set(payment.id, page);
          }
          await store.upsert([...arrivals.slice(0, 2), ...changes, ...arrivals.slice(2)]);
        });
        expect(listed).toEqual(original.map((r) => r.payment.id).reverse());
        expect(pages[1]?.totalCount).toBe(34);
        const last = pages.at(-1)?.payments.at(-1);
        expect(last?.payment.id).toBe(pid(0));
        // A page shows the state a payment had when the page was read.
        pages.forEach((page, index) => {
          for (const { payment } of page.payments) {
            const changedBeforeThisPage = (changedAfter.get(payment.id) ?? Number.POSITIVE_INFINITY) <= index;
            const expected = changedBeforeThisPage
              ? PaymentStatus.STATUS_COMPLETED
              : PaymentStatus.STATUS_PENDING;
            expect(payment.status, payment.id).toBe(expected);
          }
        });
      });

      it("rejects a cursor it did not issue with InvalidCursorError", async () => {
        await store.upsert([record(1)]);
        for (const cursor of ["not-a-cursor", "!!!", "eyJpZCI6MX0", "MTIz", " "]) {
          await expect(store.list({ topic: topic(), limit: 5, cursor })).rejects.toBeInstanceOf(
            InvalidCursorError,
          );
        }
      });

      it("returns an empty page, no cursor and a zero total when nothing matches", async () => {
        const page = await store.list({ topic: topic("nothing"), limit: 5 });
        expect(page).toEqual({ payments: [], nextCursor: "", totalCount: 0 });
      });

      describe("filters", () => {
        let rows: StoredPayment[] = [];

        // Twelve payments spread over every filtered field, plus one in another topic.
        function dataset(): StoredPayment[] {
          const specs: RecordSpec[] = [
            { provider: Provider.STRIPE, status: PaymentStatus.STATUS_PENDING, currency: "USD" },
            { provider: Provider.STRIPE, status: PaymentStatus.STATUS_COMPLETED, currency: "EUR" },
            { provider: Provider.RAZORPAY, status: PaymentStatus.STATUS_COMPLETED, currency: "INR" },
            { provider: Provider.RAZORPAY, status: PaymentStatus.STATUS_FAILED, currency: "INR" },
            { provider: Provider.PAYPAL, status: PaymentStatus.STATUS_REFUNDED, currency: "USD" },
            { provider: Provider.PAYPAL, status: PaymentStatus.STATUS_COMPLETED, currency: "EUR" },
            { provider: Provider.STRIPE, status: PaymentStatus.STATUS_FAILED, currency: "JPY" },
            { provider: Provider.PAYPAL, status: PaymentStatus.STATUS_PENDING, currency: "USD" },
            { provider: Provider.RAZORPAY, status: PaymentStatus.STATUS_REFUNDED, currency: "USD" },
            { provider: Provider.STRIPE, status: PaymentStatus.STATUS_COMPLETED, currency: "USD" },
            { provider: Provider.UNKNOWN, status: PaymentStatus.STATUS_UNKNOWN, currency: "GBP" },
            { provider: Provider.PAYPAL, status: PaymentStatus.STATUS_COMPLETED, currency: "USD" },
          ];
          const emails = [
            `ann.${ns}@example.com`,
            `ANN.${ns}@Example.COM`,
            `joann.${ns}@example.com`,
            `ann.${ns}@example.co`,
            `a_n.${ns}@example.com`,
          ];
          return specs.map((spec, i) =>
            record(i, {
              ...spec,
              offset: i,
              customerEmail: emails[i % emails.length],
              createdAt: T0 + BigInt(i * 100),
              amountMinor: BigInt(1000 * (i + 1)),
            }),
          );
        }

        function matches(p: StoredPayment, q: PaymentQuery): boolean {
          const { payment, source } = p;
          return (
            (q.topic === undefined || source.topic === q.topic) &&
            (!q.providers?.length || q.providers.includes(payment.provider)) &&
            (!q.statuses?.length || q.statuses.includes(payment.status)) &&
            (q.currency === undefined || payment.currency === q.currency) &&
            (q.customerEmail === undefined ||
              payment.customerEmail.toLowerCase() === q.customerEmail.toLowerCase()) &&
            (q.createdFrom === undefined || payment.createdAt >= q.createdFrom) &&
            (q.createdTo === undefined || payment.createdAt < q.createdTo) &&
            (q.minAmountMinor === undefined || payment.amountMinor >= q.minAmountMinor) &&
            (q.maxAmountMinor === undefined || payment.amountMinor <= q.maxAmountMinor)
          );
        }

        const newestFirst = (q: PaymentQuery) =>
          rows
            .filter((p) => matches(p, q))
            .map((p) => p.payment.id)
            .reverse();

        beforeEach(async () => {
          rows = dataset();
          await store.upsert(rows.slice(0, 6));
          await store.upsert(rows.slice(6));
          await store.upsert([
            record("elsewhere", { topic: topic("other"), provider: Provider.STRIPE, currency: "USD" }),
          ]);
        });

        const single: [string, (ns: string) => PaymentQuery][] = [
          ["one provider", () => ({ providers: [Provider.RAZORPAY] })],
          ["any of two providers", () => ({ providers: [Provider.STRIPE, Provider.PAYPAL] })],
          ["no providers (any)", () => ({ providers: [] })],
          ["one status", () => ({ statuses: [PaymentStatus.STATUS_COMPLETED] })],
          [
            "any of two statuses",
            () => ({ statuses: [PaymentStatus.STATUS_FAILED, PaymentStatus.STATUS_REFUNDED] }),
          ],
          ["currency", () => ({ currency: "EUR" })],
          ["customer email, case-insensitive, exact", (n) => ({ customerEmail: `Ann.${n}@EXAMPLE.com` })],
          ["customer email, no wildcards", (n) => ({ customerEmail: `a%n.${n}@example.com` })],
          ["created_at from (inclusive)", () => ({ createdFrom: T0 + 300n })],
          ["created_at to (exclusive)", () => ({ createdTo: T0 + 300n })],
          ["created_at range", () => ({ createdFrom: T0 + 200n, createdTo: T0 + 700n })],
          ["amount_minor min (inclusive)", () => ({ minAmountMinor: 9000n })],
          ["amount_minor max (inclusive)", () => ({ maxAmountMinor: 3000n })],
          ["amount_minor range", () => ({ minAmountMinor: 2000n, maxAmountMinor: 5000n })],
        ];

        it.each(single)("%s, within a topic: exact rows, order and total", async (_, make) => {
          const query = { topic: topic(), ...make(ns) };
          const { pages, ids: listed } = await walk({ ...query, limit: 3 });
          expect(listed).toEqual(newestFirst(query));
          expect(pages[0]?.totalCount).toBe(listed.length);
        });

        it.each(single)("%s, alone: every row matches and none of ours is missed", async (_, make) => {
          const query = make(ns);
          const { pages } = await walk({ ...query, limit: 50 });
          const all = pages.flatMap((page) => page.payments);
          for (const p of all) expect(matches(p, query)).toBe(true);
          expect(own(ids(all)).filter((id) => id !== pid("elsewhere"))).toEqual(newestFirst(query));
          expect(pages[0]?.totalCount).toBe(all.length);
        });

        it("the topic alone", async () => {
          expect((await walk({ topic: topic(), limit: 5 })).ids).toEqual(newestFirst({}));
          expect((await walk({ topic: topic("other"), limit: 5 })).ids).toEqual([pid("elsewhere")]);
        });

        it("all filters combined", async () => {
          const query: PaymentQuery = {
            topic: topic(),
            providers: [Provider.STRIPE, Provider.PAYPAL],
            statuses: [PaymentStatus.STATUS_COMPLETED, PaymentStatus.STATUS_PENDING],
            currency: "USD",
            customerEmail: `ann.${ns}@EXAMPLE.COM`,
            createdFrom: T0,
            createdTo: T0 + 1200n,
            minAmountMinor: 1000n,
            maxAmountMinor: 12000n,
          };
          const expected = newestFirst(query);
          expect(expected).toEqual([pid(11), pid(0)]);
          const page = await store.list({ ...query, limit: 10 });
          expect(ids(page.payments)).toEqual(expected);
          expect(page.totalCount).toBe(2);
        });

        it("pairs of filters", async () => {
          const queries: PaymentQuery[] = [
            { topic: topic(), providers: [Provider.STRIPE], statuses: [PaymentStatus.STATUS_COMPLETED] },
            { topic: topic(), currency: "USD", minAmountMinor: 5000n },
            { topic: topic(), statuses: [PaymentStatus.STATUS_COMPLETED], createdFrom: T0 + 250n },
            { topic: topic(), customerEmail: `ann.${ns}@example.com`, providers: [Provider.STRIPE] },
            { topic: topic(), createdTo: T0 + 900n, maxAmountMinor: 4000n },
            {
              topic: topic(),
              currency: "USD",
              statuses: [PaymentStatus.STATUS_PENDING],
              createdTo: T0 + 800n,
            },
          ];
          for (const query of queries) {
            const { pages, ids: listed } = await walk({ ...query, limit: 2 });
            expect(
              listed,
              JSON.stringify(query, (_, v) => (typeof v === "bigint" ? `${v}n` : v)),
            ).toEqual(newestFirst(query));
            expect(pages[0]?.totalCount).toBe(listed.length);
          }
        });

        it("counts every match in total_count while returning one page", async () => {
          const page = await store.list({
            topic: topic(),
            statuses: [PaymentStatus.STATUS_COMPLETED],
            limit: 2,
          });
          expect(page.payments).toHaveLength(2);
          expect(page.totalCount).toBe(5);
          const second = await store.list({
            topic: topic(),
            statuses: [PaymentStatus.STATUS_COMPLETED],
            limit: 2,
            cursor: page.nextCursor,
          });
          expect(second.totalCount).toBe(5);
          expect(ids(second.payments)).toEqual(
            newestFirst({ statuses: [PaymentStatus.STATUS_COMPLETED] }).slice(2, 4),
          );
        });

        it("follows a payment whose filtered fields change", async () => {
          await store.upsert([
            record(0, {
              offset: 50,
              status: PaymentStatus.STATUS_COMPLETED,
              currency: "USD",
              amountMinor: 1000n,
            }),
          ]);
          const completed = await store.list({
            topic: topic(),
            statuses: [PaymentStatus.STATUS_COMPLETED],
            limit: 20,
          });
          expect(ids(completed.payments)).toContain(pid(0));
          expect(completed.totalCount).toBe(6);
          const pending = await store.list({
            topic: topic(),
            statuses: [PaymentStatus.STATUS_PENDING],
            limit: 20,
          });
          expect(ids(pending.payments)).toEqual([pid(7)]);
          expect(pending.totalCount).toBe(1);
        });
      });
    });

    describe("recent", () => {
      it("returns the most recently first seen payments of a topic, oldest first", async () => {
        await store.upsert(Array.from({ length: 4 }, (_, i) => record(i, { offset: i })));
        await store.upsert([record(4, { offset: 4 }), record("x", { topic: topic("other") })]);
        // A change does not make a payment recent again.
        await store.upsert([record(0, { offset: 9, status: PaymentStatus.STATUS_COMPLETED })]);
        expect(ids(await store.recent({ topic: topic() }, 3))).toEqual([pid(2), pid(3), pid(4)]);
        expect(ids(await store.recent({ topic: topic() }, 100))).toEqual([0, 1, 2, 3, 4].map(pid));
        expect(await store.recent({ topic: topic() }, 0)).toEqual([]);
        expect(await store.recent({ topic: topic("none") }, 10)).toEqual([]);
        const [first] = await store.recent({ topic: topic() }, 100);
        expect(first?.payment.status).toBe(PaymentStatus.STATUS_COMPLETED);
      });

      it("filters on provider and status", async () => {
        await store.upsert([
          record(0, { offset: 0, provider: Provider.STRIPE, status: PaymentStatus.STATUS_COMPLETED }),
          record(1, { offset: 1, provider: Provider.PAYPAL, status: PaymentStatus.STATUS_COMPLETED }),
          record(2, { offset: 2, provider: Provider.STRIPE, status: PaymentStatus.STATUS_FAILED }),
          record(3, { offset: 3, provider: Provider.STRIPE, status: PaymentStatus.STATUS_COMPLETED }),
          record(4, { offset: 4, provider: Provider.PAYPAL, status: PaymentStatus.STATUS_FAILED }),
          record(5, { offset: 5, provider: Provider.STRIPE, status: PaymentStatus.STATUS_COMPLETED }),
        ]);
        expect(ids(await store.recent({ topic: topic(), provider: Provider.STRIPE }, 3))).toEqual(
          [2, 3, 5].map(pid),
        );
        expect(ids(await store.recent({ topic: topic(), status: PaymentStatus.STATUS_FAILED }, 10))).toEqual(
          [2, 4].map(pid),
        );
        const both = { topic: topic(), provider: Provider.STRIPE, status: PaymentStatus.STATUS_COMPLETED };
        expect(ids(await store.recent(both, 2))).toEqual([3, 5].map(pid));
      });
    });

    describe("what a caller may see: a set of topics and a tenant", () => {
      const merchant = (id: string) => ({ merchant_id: id, note: "x" });

      it("lists only the given topics and counts only them; no topic given: nothing", async () => {
        await store.upsert([
          record(0, { topic: topic("a"), offset: 0 }),
          record(1, { topic: topic("b"), offset: 0 }),
          record(2, { topic: topic("c"), offset: 0 }),
          record(3, { topic: topic("a"), offset: 1, createdAt: T0 + 50n }),
        ]);
        const ab = await store.list({ topics: [topic("a"), topic("b")], limit: 2 });
        expect(ab.totalCount).toBe(3);
        const all = await walk({ topics: [topic("a"), topic("b")], limit: 2 });
        expect(all.ids).toEqual([3, 1, 0].map(pid));
        const ranged = await store.list({
          topics: [topic("c")],
          createdFrom: T0,
          createdTo: T0 + 10n,
          limit: 10,
        });
        expect(ids(ranged.payments)).toEqual([pid(2)]);
        expect(ranged.totalCount).toBe(1);
        const none = await store.list({ topics: [], limit: 10 });
        expect(none).toEqual({ payments: [], nextCursor: "", totalCount: 0 });
        expect(await store.topics()).toEqual(expect.arrayContaining([topic("a"), topic("b"), topic("c")]));
      });

      it("lists, counts and pages only a tenant's payments, alone and with other filters", async () => {
        await store.upsert([
          record(0, { offset: 0, metadata: merchant("m1") }),
          record(1, { offset: 1, metadata: merchant("m2") }),
          record(2, { offset: 2, metadata: merchant("m1"), provider: Provider.PAYPAL, amountMinor: 90_000n }),
          record(3, { offset: 3, metadata: { other: "m1" } }),
          record(4, { offset: 4, metadata: merchant("m1"), createdAt: T0 + 7200n }),
          record(5, { offset: 5, metadata: { merchant_id: "M1" } }),
        ]);
        const tenant = { key: "merchant_id", value: "m1" };
        const mine = await walk({ topic: topic(), tenant, limit: 2 });
        expect(mine.ids).toEqual([4, 2, 0].map(pid));
        expect(mine.pages[0]?.totalCount).toBe(3);
        const paypal = await store.list({
          topics: [topic()],
          tenant,
          providers: [Provider.PAYPAL],
          limit: 10,
        });
        expect(ids(paypal.payments)).toEqual([pid(2)]);
        expect(paypal.totalCount).toBe(1);
        const early = await store.list({
          topic: topic(),
          tenant,
          createdFrom: T0,
          createdTo: T0 + 3600n,
          limit: 10,
        });
        expect(ids(early.payments)).toEqual([2, 0].map(pid));
        expect(early.totalCount).toBe(2);
        const large = await store.list({ topic: topic(), tenant, minAmountMinor: 10_000n, limit: 10 });
        expect(ids(large.payments)).toEqual([pid(2)]);
        expect(large.totalCount).toBe(1);
        const email = await store.list({
          topic: topic(),
          tenant,
          customerEmail: `BUYER.${ns}@example.com`,
          limit: 10,
        });
        expect(email.totalCount).toBe(3);
        const nobody = await store.list({
          topic: topic(),
          tenant: { key: "merchant_id", value: "m9" },
          limit: 10,
        });
        expect(nobody.totalCount).toBe(0);
      });

      it("takes a tenant key literally, whatever characters it holds", async () => {
        await store.upsert([
          record(0, { offset: 0, metadata: { "a.b": "t", a: "x" } }),
          record(1, { offset: 1, metadata: { a: "t" } }),
        ]);
        const dotted = await store.list({ topic: topic(), tenant: { key: "a.b", value: "t" }, limit: 10 });
        expect(ids(dotted.payments)).toEqual([pid(0)]);
      });

      it("gives a tenant's recent payments of a topic", async () => {
        await store.upsert([
          record(0, { offset: 0, metadata: merchant("m1") }),
          record(1, { offset: 1, metadata: merchant("m2") }),
          record(2, { offset: 2, metadata: merchant("m1"), status: PaymentStatus.STATUS_FAILED }),
        ]);
        const tenant = { key: "merchant_id", value: "m1" };
        expect(ids(await store.recent({ topic: topic(), tenant }, 10))).toEqual([0, 2].map(pid));
        const failed = { topic: topic(), tenant, status: PaymentStatus.STATUS_FAILED };
        expect(ids(await store.recent(failed, 10))).toEqual([pid(2)]);
      });
    });

    describe("retention", () => {
      it("deletes payments last seen before now minus the maximum age", async () => {
        const maxAgeMs = 60_000;
        store = await openStore({ maxPayments: 1_000_000_000, maxAgeMs });
        await store.upsert([record("old", { offset: 1 }), record("changed", { offset: 2 })]);
        await tick();
        await store.upsert([record("new", { offset: 3 })]);
        await tick();
        await store.upsert([record("changed", { offset: 4, status: PaymentStatus.STATUS_COMPLETED })]);
        const old = await store.get(pid("old"));
        const lastSeen = old?.lastSeenMs ?? Number.NaN;
        expect((await store.get(pid("new")))?.lastSeenMs).toBeGreaterThan(lastSeen);

        const before = await countAll();
        expect(await store.enforceRetention(lastSeen + maxAgeMs)).toBe(before - (await countAll()));
        expect(await store.get(pid("old"))).toBeDefined();

        const deleted = await store.enforceRetention(lastSeen + 1 + maxAgeMs);
        expect(deleted).toBeGreaterThanOrEqual(1);
        expect(deleted).toBe(before - (await countAll()));
        expect(await store.get(pid("old"))).toBeUndefined();
        expect(await store.get(pid("new"))).toBeDefined();
        expect(await store.get(pid("changed"))).toBeDefined();
        expect(ids((await store.list({ topic: topic(), limit: 10 })).payments)).toEqual([
          pid("new"),
          pid("changed"),
        ]);
      });

      it("beyond the row limit, deletes the payments first seen longest ago", async () => {
        store = await openStore({ maxPayments: 3, maxAgeMs: roomyRetention.maxAgeMs });
        await store.upsert([record(0, { offset: 0 }), record(1, { offset: 1 })]);
        await store.upsert([record(2, { offset: 2 }), record(3, { offset: 3 }), record(4, { offset: 4 })]);
        // A change keeps a payment's place in first-seen order.
        await store.upsert([record(0, { offset: 5, status: PaymentStatus.STATUS_COMPLETED })]);
        const before = await countAll();
        const deleted = await store.enforceRetention(Date.now());
        expect(await countAll()).toBe(3);
        expect(deleted).toBe(before - 3);
        expect((await walk({ topic: topic(), limit: 10 })).ids).toEqual([4, 3, 2].map(pid));
        expect(await store.get(pid(0))).toBeUndefined();
        expect(await store.enforceRetention(Date.now())).toBe(0);
        // Totals follow deletions.
        expect(
          (await store.list({ topic: topic(), statuses: [PaymentStatus.STATUS_PENDING], limit: 1 }))
            .totalCount,
        ).toBe(3);
      });
    });

    describe("ping and close", () => {
      it("ping resolves while open and rejects with a reason once closed", async () => {
        await expect(store.ping()).resolves.toBeUndefined();
        await store.close();
        await expect(store.ping()).rejects.toBeInstanceOf(Error);
      });
    });

    // Not declared at all for an engine that is not durable: there is nothing of this to check.
    if (durable)
      describe("durability", () => {
        it("keeps payments, their order and first/last seen across close and reopen", async () => {
          const written = Array.from({ length: 6 }, (_, i) => record(i, { offset: i }));
          await store.upsert(written);
          await store.upsert([record(1, { offset: 10, status: PaymentStatus.STATUS_COMPLETED })]);
          const before = await Promise.all(written.map((r) => store.get(r.payment.id)));
          const listed = (await walk({ topic: topic(), limit: 4 })).ids;

          await reopen();
          expect(await Promise.all(written.map((r) => store.get(r.payment.id)))).toEqual(before);
          expect((await walk({ topic: topic(), limit: 4 })).ids).toEqual(listed);
          // First-seen order goes on after a restart; the newer-state rule still applies.
          await store.upsert([
            record(6, { offset: 6 }),
            record(1, { offset: 9, status: PaymentStatus.STATUS_FAILED }),
          ]);
          expect((await store.list({ topic: topic(), limit: 2 })).payments.map((p) => p.payment.id)).toEqual([
            pid(6),
            pid(5),
          ]);
          expect((await store.get(pid(1)))?.payment.status).toBe(PaymentStatus.STATUS_COMPLETED);

          // Opening again applies no migration twice.
          await reopen();
          expect((await store.list({ topic: topic(), limit: 1 })).totalCount).toBe(7);
          await expect(store.ping()).resolves.toBeUndefined();
        });
      });
  });
}
