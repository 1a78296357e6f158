// `npx tsx bench/micro/view-writes.ts [--rows=N] [--batch=B] [--drop=INDEX,...]`: what the embedded store's writer
// costs per row as the store grows, with no Kafka and no streams: pa's SQLite store in a fresh
// DATA_DIR takes the benchmark generator's payments (parsed by pa's parsePayment beforehand, not
// timed) in upserts of B rows, each awaited before the next, as the view writes them (its reads
// from Kafka bring up to 500 records). Per stretch of rows: rows/s, and the CPU per row of the
// writer thread (from /proc: the thread the store started that used the most CPU; the other one is
// the checkpointer, also reported) and of this process's main thread (encoding the rows). --drop
// drops those indexes of pa's schema before the writes: what an index costs per row is the
// difference to a run that keeps it.

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { createPaymentGenerator } from "../../server/demo/payment-generator.js";
import { DEFAULT_AMOUNT_UNITS, parseAmountUnits } from "../../server/payment/amount-units.js";
import { parsePayment } from "../../server/payment/parse-payment.js";
import type { StoredPayment } from "../../server/store/payment-store.js";
import { openSqliteStore, sqliteFileName } from "../../server/store/sqlite-store.js";
import { CLOCK_TICKS } from "../support/proc.js";

const option = (name: string, fallback: number) => {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? Number(arg.slice(name.length + 3)) : fallback;
};
const ROWS = option("rows", 1_000_000);
const BATCH = option("batch", 500);
const STRETCH = option("stretch", 100_000);
const DROP = (process.argv.find((a) => a.startsWith("--drop="))?.slice(7) ?? "").split(",").filter(Boolean);
const TOPIC = "bench.micro.view";
const PARTITIONS = 3;

/** CPU seconds of each thread of this process, by tid. */
function threadCpu(): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    cpu.set(Number(tid), (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS);
  }
  return cpu;
}

function* payments(count: number): Generator<StoredPayment> {
  const generator = createPaymentGenerator({ seed: 6 });
  const rules = { amountUnits: parseAmountUnits(DEFAULT_AMOUNT_UNITS) };
  const nowMs = Date.now();
  for (let i = 0; i < count; i++) {
    const outcome = parsePayment(
      Buffer.from(generator.valid().value),
      { kafkaTimestampMs: nowMs, nowMs },
      rules,
    );
    if (!outcome.ok) throw new Error(outcome.invalid.reason);
    yield {
      payment: outcome.payment,
      source: {
        topic: TOPIC,
        partition: i % PARTITIONS,
        offset: Math.floor(i / PARTITIONS),
        kafkaTimestampMs: nowMs,
      },
    };
  }
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), "pa-view-writes-"));
try {
  console.log(`generating ${ROWS} payments`);
  const all = [...payments(ROWS)];
  const before = threadCpu();
  const store = await openSqliteStore({
    dataDir,
    retention: { maxPayments: 10 * ROWS, maxAgeMs: 86_400_000 },
  });
  if (DROP.length > 0) {
    const db = new Database(path.join(dataDir, sqliteFileName));
    for (const index of DROP) db.exec(`DROP INDEX ${index}`);
    db.close();
    console.log(`dropped ${DROP.join(", ")}`);
  }
  const started = new Set([...threadCpu().keys()].filter((tid) => !before.has(tid)));
  const mainTid = process.pid;
  console.log(
    `rows ${BATCH} a write; per stretch of ${STRETCH}: rows/s, CPU per row (us) of writer, checkpointer, main`,
  );
  let mark = { at: performance.now(), cpu: threadCpu() };
  const totals = { ms: 0, writer: 0, checkpointer: 0, main: 0 };
  for (let done = 0; done < ROWS; ) {
    const batch = all.slice(done, done + BATCH);
    await store.upsert(batch);
    done += batch.length;
    if (done % STRETCH !== 0 && done !== ROWS) continue;
    const now = { at: performance.now(), cpu: threadCpu() };
    const spent = (tid: number) => (now.cpu.get(tid) ?? 0) - (mark.cpu.get(tid) ?? 0);
    const workers = [...started].map(spent).sort((a, b) => b - a);
    const rows = done % STRETCH === 0 ? STRETCH : done % STRETCH;
    const ms = now.at - mark.at;
    const us = (seconds: number) => ((seconds * 1e6) / rows).toFixed(1);
    console.log(
      `${String(done).padStart(9)}  ${Math.round(rows / (ms / 1000))
        .toLocaleString("en")
        .padStart(
          8,
        )} rows/s  writer ${us(workers[0] ?? 0)}  checkpointer ${us(workers[1] ?? 0)}  main ${us(spent(mainTid))}`,
    );
    totals.ms += ms;
    totals.writer += workers[0] ?? 0;
    totals.checkpointer += workers[1] ?? 0;
    totals.main += spent(mainTid);
    mark = now;
  }
  const perRow = (seconds: number) => ((seconds * 1e6) / ROWS).toFixed(1);
  console.log(
    `all ${ROWS}: ${Math.round(ROWS / (totals.ms / 1000)).toLocaleString("en")} rows/s; per row: writer ${perRow(totals.writer)} us, checkpointer ${perRow(totals.checkpointer)} us, main ${perRow(totals.main)} us; load ${os.loadavg()[0]?.toFixed(1)}`,
  );
  await store.close();
  const bytes = readdirSync(dataDir).reduce((sum, file) => sum + statSync(path.join(dataDir, file)).size, 0);
  console.log(`file with WAL: ${(bytes / 1048576).toFixed(1)} MiB`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
