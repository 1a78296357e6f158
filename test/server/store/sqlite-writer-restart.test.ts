// A SQLite writer thread that dies is replaced: the writes in flight fail, the caller's retries
// store them once the new thread runs, nothing is lost or counted twice, and the outage is logged
// once (its end once more).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { PaymentSchema, PaymentStatus, Provider } from "../../../gen/payment/payment_pb.js";
import type { StoredPayment } from "../../../server/store/payment-store.js";
import { openSqliteStore, type SqliteStore } from "../../../server/store/sqlite-store.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function logged(): { logger: pino.Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: "debug" }, destination), lines };
}

const payment = (i: number): StoredPayment => ({
  payment: create(PaymentSchema, {
    id: `pay_${i}`,
    provider: Provider.STRIPE,
    status: PaymentStatus.STATUS_COMPLETED,
    currency: "USD",
    amount: i,
  }),
  source: { topic: "t", partition: i % 3, offset: i, kafkaTimestampMs: 1_000 + i },
});

/** What the view does with a batch: retries it until the store takes it. */
async function upsertUntilStored(store: SqliteStore, batch: StoredPayment[]): Promise<number> {
  for (let failures = 0; ; failures++) {
    try {
      await store.upsert(batch);
      return failures;
    } catch {
      if (failures > 200) throw new Error("the store never took the batch again");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

describe("a dead SQLite writer thread", () => {
  it("is restarted; batches in flight fail, their retries store every payment exactly once", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pa-writer-restart-"));
    dirs.push(dataDir);
    const { logger, lines } = logged();
    const store = await openSqliteStore({
      dataDir,
      retention: { maxPayments: 1_000_000, maxAgeMs: 86_400_000 },
      logger,
    });
    try {
      const batches = Array.from({ length: 40 }, (_, b) =>
        Array.from({ length: 250 }, (_, i) => payment(b * 250 + i)),
      );
      // Sent back to back, the way the view sends them, with the thread killed while they are in
      // flight, and its successor killed again before it wrote anything (the same outage).
      let failed = 0;
      const retried = (batch: StoredPayment[]) =>
        upsertUntilStored(store, batch).then((failures) => {
          failed += failures;
        });
      const first = batches.slice(0, 20).map(retried);
      await store.crashWriter();
      while (store.writerRestarts === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      await store.crashWriter();
      await Promise.all([...first, ...batches.slice(20).map(retried)]);
      // A batch the dead thread had committed before its reply was lost is sent again: no change.
      await upsertUntilStored(store, batches[3] as StoredPayment[]);

      expect(failed).toBeGreaterThan(0);
      expect(store.writerRestarts).toBeGreaterThanOrEqual(2);
      const page = await store.list({ topic: "t", limit: 1 });
      expect(page.totalCount).toBe(10_000);
      for (const i of [0, 2_499, 2_500, 3_000, 9_999]) {
        expect((await store.get(`pay_${i}`))?.source.offset).toBe(i);
      }
      await expect(store.ping()).resolves.toBeUndefined();

      const errors = lines.filter((line) => line.level >= 50);
      expect(errors.map((line) => line.msg)).toEqual([
        expect.stringMatching(
          /^\[STORE\] The SQLite writer thread died \(the SQLite writer thread was terminated\): starting a new one in \d+ ms/,
        ),
      ]);
      expect(lines.filter((line) => line.level === 30).map((line) => line.msg)).toEqual([
        expect.stringMatching(/^\[STORE\] The SQLite writer thread writes again \(\d+ restarts?/),
      ]);
    } finally {
      await store.close();
    }
  });

  it("says so in ping() until the new thread runs, and is not restarted after close", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pa-writer-restart-"));
    dirs.push(dataDir);
    const store = await openSqliteStore({
      dataDir,
      retention: { maxPayments: 1_000_000, maxAgeMs: 86_400_000 },
    });
    await store.upsert([payment(1)]);
    await store.crashWriter();
    await expect(store.ping()).rejects.toThrow(/terminated; a new writer thread is being started/);
    await upsertUntilStored(store, [payment(2)]);
    await expect(store.ping()).resolves.toBeUndefined();
    await store.close();
    const restarts = store.writerRestarts;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(store.writerRestarts).toBe(restarts);
    await expect(store.upsert([payment(3)])).rejects.toThrow(/closed/);
  });
});
