// Store: N PoC payments (1,000,000 by default) preloaded into a 3-partition topic, then, for each
// engine (embedded SQLite with a fresh DATA_DIR; PostgreSQL with a fresh database on the local
// server), a fresh pa that has the topic pinned (KAFKA_TOPIC, from the earliest offset) processes
// it into its store: write throughput is N over the time until ListPayments counts all N stored.
// Then, with N rows stored and nothing else arriving, query latency through the RPC: GetPayment
// of random stored ids, filtered ListPayments first pages and follow-up pages. Baselines from the
// same run: kcat reading the topic, and each engine inserting the same rows itself.
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createPaymentGenerator } from "../server/demo/payment-generator.js";
import { sqliteFileName } from "../server/store/sqlite-store.js";
import { BenchDatabase } from "./support/bench-database.js";
import { type PaClient, PaConnections } from "./support/client.js";
import { kcatDrain } from "./support/kcat.js";
import { PaProcess } from "./support/pa-process.js";
import { CpuMeter } from "./support/proc.js";
import { postgresRawInsert, type RawInsertResult, sqliteRawInsert } from "./support/raw-inserts.js";
import type { BenchContext, Row, Scenario, ScenarioResult } from "./support/scenario.js";
import { DeliveryError } from "./support/scenario.js";
import { psqlInsert, sqliteCliInsert } from "./support/schema-inserts.js";
import { formatCount, formatMiB, formatMs, formatPercent, formatRate } from "./support/stats.js";
import {
  getPaymentLatency,
  type KindLatency,
  listKinds,
  listLatency,
  nextPageLatency,
  PAGE_SIZE,
  type QuerySamples,
} from "./support/store-queries.js";

export const DEFAULT_STORE_ROWS = 1_000_000;
export const DEFAULT_STORE_QUERIES = 300;

const SEED = 6;
// Stored ids (and their e-mail addresses) the queries pick from.
const SAMPLE_SIZE = 2_000;
// The store not growing for this long while payments remain to be stored means they were lost.
const STALL_MS = 60_000;
const POLL_MS = 200;
// The producer's timestamps trail its clock by up to 300 s (server/demo/payment-generator.ts).
const MAX_TIMESTAMP_LAG_SEC = 300;
// Issue 6's targets at a million stored payments, through the RPC.
const GET_P99_TARGET_MS = 2;
const LIST_P99_TARGET_MS = 20;

type Engine = "SQLite" | "PostgreSQL";

interface Ingestion {
  /** Payments stored per second, from the first stored payment seen to the N-th. */
  rate: number;
  /** From spawning pa to the N-th payment stored (start-up included). */
  wallMs: number;
  cpuCores: number;
  peakRss: number;
  /** GetTopics' consumer lag of the topic once all were stored (0 expected). */
  lag: bigint | undefined;
  deadLettered: bigint;
}

export const store: Scenario = {
  name: "store",
  title: "payments stored by pa on each engine, then queried through the RPC",
  async run(context: BenchContext): Promise<ScenarioResult> {
    const n = context.sizes.rows ?? DEFAULT_STORE_ROWS;
    const calls = context.sizes.queries ?? DEFAULT_STORE_QUERIES;
    const topic = `bench.store.${context.runId}`;
    await context.kafka.createTopics([topic]);
    context.log(`preloading ${formatCount(n)} payments into ${topic}`);
    const preloadStartSec = Math.floor(Date.now() / 1000);
    await context.kafka.preload(topic, n, SEED);
    const samples: QuerySamples = {
      topic,
      ...sampleStored(n),
      createdFromSec: preloadStartSec - MAX_TIMESTAMP_LAG_SEC,
      createdToSec: Math.ceil(Date.now() / 1000),
    };

    const kcat = await kcatDrain(context.brokers, topic, context.children);
    if (kcat.count !== n) throw new Error(`kcat read ${kcat.count} records from ${topic}, expected ${n}`);
    const kcatRate = n / (kcat.wallMs / 1000);
    context.log(`kcat: ${formatCount(n)} in ${formatMs(kcat.wallMs)} = ${formatRate(kcatRate)}`);

    const run: EngineRun = { context, topic, n, calls, samples, kcatRate };
    const rows: Row[] = [];
    const notes: string[] = [];
    const loads: string[] = [];

    // Embedded SQLite: pa's default, in a DATA_DIR of its own so its file size can be read.
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "pa-bench-store-"));
    try {
      const raw = sqliteRawInsert(n, SEED);
      const alone = await sqliteCliInsert(topic, n, SEED);
      const sizeOf = () =>
        ["", "-wal"]
          .map((suffix) => path.join(dataDir, sqliteFileName + suffix))
          .filter((file) => existsSync(file))
          .reduce((sum, file) => sum + statSync(file).size, 0);
      const measured = await measureEngine(run, "SQLite", { DATA_DIR: dataDir }, raw, {
        tool: "sqlite3",
        result: alone,
      });
      rows.push(...measured.rows);
      loads.push(measured.load);
      notes.push(
        `store: the SQLite file (with its WAL) held ${formatMiB(sizeOf())} at ${formatCount(n)} payments.`,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }

    const database = await BenchDatabase.create(`pa_bench_${context.runId.replace(/[^a-z0-9]/g, "")}`);
    try {
      const raw = await postgresRawInsert(database.url, n, SEED);
      const alone = await psqlInsert(database.url, topic, n, SEED);
      const measured = await measureEngine(run, "PostgreSQL", { DATABASE_URL: database.url }, raw, {
        tool: "psql",
        result: alone,
      });
      rows.push(...measured.rows);
      loads.push(measured.load);
      notes.push(
        `store: the PostgreSQL database ${database.name} held ${formatMiB(await database.sizeBytes())} at ${formatCount(n)} payments.`,
      );
    } finally {
      await database.drop();
    }

    notes.push(
      `store: write rate = payments stored per second from the first one ListPayments counted to the ${formatCount(n)}-th (polled every ${POLL_MS} ms), pa processing a pinned topic from the earliest offset with nobody subscribed; kcat's rate is reading the same topic to its end. Raw insert: the engine alone, the same rows into a bare table (primary key only) in 2,000-row transactions (SQLite via better-sqlite3 with WAL and synchronous=NORMAL as pa uses it; PostgreSQL via node-postgres, INSERT ... SELECT FROM unnest), only the inserts timed. sqlite3 alone: Debian's sqlite3 shell running a SQL script of the same payments as pa normalizes them into a fresh file of pa's schema (every migration, all its indexes), 2,000 rows per transaction in one multi-row INSERT, with pa's pragmas; only the sqlite3 process timed. psql alone: the same script (without the pragmas) run by psql into pa's PostgreSQL schema migrated into a schema of its own in the run's database (dropped before pa starts), each 2,000-row INSERT its own transaction; only psql timed.`,
      `store: query latency through pa's gRPC (connect-node, one HTTP/2 connection, one call at a time) with all ${formatCount(n)} payments stored and nothing arriving; ${calls} timed calls per kind after 10 untimed; a new random filter value per call; first pages of ${PAGE_SIZE}; "next page" is the page after a random one of the first 20 pages (no filter or one provider). The preloaded payments' created_at span only the preload plus the generator's 300 s of trailing timestamps, so a 60 s created range matches about a fifth of them: a worst case for counting, not a typical one. Load average (1 min): ${loads.join("; ")}.`,
    );
    return { rows, notes };
  },
};

/** What every engine's measurement shares: the preloaded topic and its kcat baseline. */
interface EngineRun {
  context: BenchContext;
  topic: string;
  n: number;
  calls: number;
  samples: QuerySamples;
  kcatRate: number;
}

/**
 * One engine: a fresh pa with the topic pinned stores all n payments, then answers the queries.
 * Returns the engine's table rows and the load average while it ran.
 */
async function measureEngine(
  { context, topic, n, calls, samples, kcatRate }: EngineRun,
  engine: Engine,
  env: Record<string, string>,
  raw: RawInsertResult,
  alone?: { tool: string; result: RawInsertResult },
): Promise<{ rows: Row[]; load: string }> {
  const rows: Row[] = [];
  const rawRate = raw.rows / (raw.insertMs / 1000);
  context.log(
    `${engine} raw insert: ${formatCount(raw.rows)} in ${formatMs(raw.insertMs)} = ${formatRows(rawRate)}`,
  );
  if (raw.rows !== n) throw new Error(`${engine} raw insert stored ${raw.rows} rows, expected ${n}`);
  const aloneRate = alone ? alone.result.rows / (alone.result.insertMs / 1000) : undefined;
  if (alone && aloneRate !== undefined) {
    context.log(
      `${engine} ${alone.tool} alone into pa's schema: ${formatCount(alone.result.rows)} in ${formatMs(alone.result.insertMs)} = ${formatRows(aloneRate)}`,
    );
    if (alone.result.rows !== n)
      throw new Error(`${alone.tool} stored ${alone.result.rows} rows, expected ${n}`);
  }
  const spawnedAt = performance.now();
  const pa = await PaProcess.start({
    ...context.pa,
    groupId: `bench-${context.runId}-store-${engine.toLowerCase()}`,
    env: { KAFKA_TOPIC: topic, KAFKA_AUTO_OFFSET_RESET: "earliest", ...env },
  });
  const connections = new PaConnections(pa.baseUrl, 1);
  try {
    const client = connections.client(0);
    const ingestion = await ingest(context, engine, { pa, spawnedAt }, client, topic, n);
    const ingestLoad = os.loadavg()[0] ?? 0;
    const share = ingestion.rate / kcatRate;
    context.log(
      `${engine}: ${formatCount(n)} stored at ${formatRows(ingestion.rate)} (${formatPercent(share)} of kcat, ${formatPercent(ingestion.rate / rawRate)} of the raw insert); ${formatMs(ingestion.wallMs)} from spawning pa; pa CPU ${ingestion.cpuCores.toFixed(2)} cores, peak RSS ${formatMiB(ingestion.peakRss)}; consumer lag then ${ingestion.lag ?? "unknown"}; load ${ingestLoad.toFixed(1)}`,
    );
    if (ingestion.deadLettered > 0n) {
      throw new DeliveryError(`${engine}: pa dead-lettered ${ingestion.deadLettered} valid payments`);
    }
    rows.push(
      {
        measure: `${engine}: store ${formatCount(n)} payments through pa (rows/s)`,
        pa: formatRows(ingestion.rate),
        baseline: formatRate(kcatRate),
        comparison: `${formatPercent(share)} of kcat; raw ${engine} insert ${formatRows(rawRate)} (pa at ${formatPercent(ingestion.rate / rawRate)})`,
      },
      ...(alone && aloneRate !== undefined
        ? [
            {
              measure: `${engine}: ${alone.tool} alone, same rows into pa's schema (rows/s)`,
              pa: formatRows(ingestion.rate),
              baseline: formatRows(aloneRate),
              comparison: `pa at ${formatPercent(ingestion.rate / aloneRate)} of ${alone.tool}`,
              target: "≥ 50,000 rows/s",
              met: ingestion.rate >= 50_000,
            },
          ]
        : []),
      {
        measure: `${engine}: while storing: wall from spawn, pa CPU, peak RSS`,
        pa: `${formatMs(ingestion.wallMs)}, ${ingestion.cpuCores.toFixed(2)} cores, ${formatMiB(ingestion.peakRss)}`,
        baseline: "",
      },
    );

    context.log(`${engine}: ${calls} timed calls per query kind, ${PAGE_SIZE} rows a page`);
    const latencies: KindLatency[] = [await getPaymentLatency(client, samples.ids, calls)];
    for (const { kind, request } of listKinds(samples)) {
      latencies.push(await listLatency(client, kind, request, calls));
    }
    latencies.push(await nextPageLatency(client, calls));
    const queryLoad = os.loadavg()[0] ?? 0;
    for (const { kind, latency, medianMatches } of latencies) {
      const isGet = kind.startsWith("GetPayment");
      const target = isGet ? GET_P99_TARGET_MS : LIST_P99_TARGET_MS;
      context.log(
        `${engine}: ${kind.padEnd(48)} p50 ${formatMs(latency.p50).padStart(8)}  p99 ${formatMs(latency.p99).padStart(8)}  max ${formatMs(latency.max).padStart(8)}  (median ${formatCount(medianMatches)} matching)`,
      );
      rows.push({
        measure: `${engine}: ${kind} (p50 / p99)`,
        pa: `${formatMs(latency.p50)} / ${formatMs(latency.p99)}`,
        baseline: "",
        comparison: isGet ? "" : `median ${formatCount(medianMatches)} matching`,
        target: `p99 ≤ ${target} ms`,
        met: latency.p99 <= target,
      });
    }
    return {
      rows,
      load: `${engine} ${ingestLoad.toFixed(1)} while storing, ${queryLoad.toFixed(1)} after the queries`,
    };
  } finally {
    connections.close();
    await pa.stop();
  }
}

function formatRows(perSecond: number): string {
  return `${formatCount(perSecond)} rows/s`;
}

/** Ids and e-mail addresses of SAMPLE_SIZE payments spread over the preload (same seed, same ids). */
function sampleStored(n: number): { ids: string[]; emails: string[] } {
  const generator = createPaymentGenerator({ seed: SEED });
  const every = Math.max(1, Math.floor(n / SAMPLE_SIZE));
  const ids: string[] = [];
  const emails: string[] = [];
  for (let i = 0; i < n; i++) {
    const record = generator.valid();
    if (i % every !== 0) continue;
    ids.push(record.key);
    emails.push((JSON.parse(record.value) as { customer_email: string }).customer_email);
  }
  return { ids, emails };
}

/**
 * Waits until pa's store counts all n payments, polling ListPayments' total_count, and fails if the
 * count stops growing for STALL_MS first (payments lost, or pa stuck).
 */
async function ingest(
  context: BenchContext,
  engine: Engine,
  { pa, spawnedAt }: { pa: PaProcess; spawnedAt: number },
  client: PaClient,
  topic: string,
  n: number,
): Promise<Ingestion> {
  const cpu = new CpuMeter(pa.pid);
  let peakRss = 0;
  let first: { at: number; count: number } | undefined;
  let count = 0;
  let lastGrowth = performance.now();
  let lastLog = performance.now();
  while (count < n) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const now = performance.now();
    const total = (await client.listPayments({ limit: 1 })).totalCount;
    peakRss = Math.max(peakRss, pa.status().rssBytes);
    if (total > count) {
      count = total;
      lastGrowth = now;
      first ??= { at: now, count };
    }
    if (count > n)
      throw new DeliveryError(`${engine}: the store holds ${count} payments, ${n} were produced`);
    if (now - lastGrowth > STALL_MS) {
      throw new DeliveryError(
        `${engine}: the store stopped at ${formatCount(count)} of ${formatCount(n)} payments (no growth for ${STALL_MS / 1000} s); pa's last log lines:\n${pa.logTail()}`,
      );
    }
    if (now - lastLog > 10_000) {
      lastLog = now;
      context.log(`${engine}: ${formatCount(count)} of ${formatCount(n)} stored`);
    }
  }
  const doneAt = performance.now();
  const cpuUse = cpu.read();
  const status = (await client.getTopics({})).details.find((detail) => detail.topic === topic);
  const start = first ?? { at: spawnedAt, count: 0 };
  // When the first poll already found most of the payments (a small N), the rate from that poll
  // would rest on a handful of payments: count from spawning pa instead.
  const steady = start.count <= n / 2 && doneAt > start.at;
  const rate = steady ? (n - start.count) / ((doneAt - start.at) / 1000) : n / ((doneAt - spawnedAt) / 1000);
  return {
    rate,
    wallMs: doneAt - spawnedAt,
    cpuCores: cpuUse.coreShare,
    peakRss,
    lag: status?.consumerLag,
    deadLettered: status?.messagesDeadLettered ?? 0n,
  };
}
