// DLQ: N poison records (50,000 by default) in a 3-partition topic, dead-lettered into
// `{topic}.dlq` by a pa that has the topic pinned (KAFKA_TOPIC, from the earliest offset), then
// listed through pa's admin service (pa.admin.v1.DeadLetterService). The first ListDeadLetters
// reads the whole DLQ; later calls find it in pa's cache (DLQ_CACHE_RECORDS) and read only what
// was appended since. A second pa with the cache off (DLQ_CACHE_RECORDS=0, the behaviour before
// the cache) answers the same calls, reading the whole DLQ every time. Baselines from the same
// run: kcat reading the source topic, and the DLQ, to their ends.
import os from "node:os";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { DeadLetterService } from "../gen/pa/admin/v1/dead_letter_service_pb.js";
import { deadLetterTopic } from "../server/kafka/dead-letter-producer.js";
import { kcatDrain } from "./support/kcat.js";
import { PaProcess } from "./support/pa-process.js";
import {
  type BenchContext,
  DeliveryError,
  type Row,
  type Scenario,
  type ScenarioResult,
} from "./support/scenario.js";
import {
  type Distribution,
  distribution,
  formatCount,
  formatMiB,
  formatMs,
  formatPercent,
  formatRate,
} from "./support/stats.js";

const SEED = 7;
// Produced after the first calls, so that the cached pa's next call has something new to read.
const MORE_LETTERS = 1_000;
const REPEATED_CALLS = 50;
const PAGE_SIZE = 100;
// The DLQ not growing for this long while letters remain to be written means pa lost or stuck them.
const STALL_MS = 60_000;
const POLL_MS = 200;

type AdminClient = Client<typeof DeadLetterService>;

export const dlq: Scenario = {
  name: "dlq",
  title: "poison records dead-lettered by pa, then listed through its admin service, cached and not",
  async run(context: BenchContext): Promise<ScenarioResult> {
    const n = context.sizes.letters;
    const topic = `bench.dlq.${context.runId}`;
    const dlqTopic = deadLetterTopic(topic);
    await context.kafka.createTopics([topic]);
    context.log(`producing ${formatCount(n)} poison records to ${topic}`);
    await context.kafka.preloadInvalid(topic, n, SEED);
    const kcatSource = await drainWithKcat(context, topic, n);
    const kcatRate = n / (kcatSource.wallMs / 1000);
    context.log(
      `kcat: ${formatCount(n)} source records in ${formatMs(kcatSource.wallMs)} = ${formatRate(kcatRate)}`,
    );

    const spawnedAt = performance.now();
    const cachedPa = await PaProcess.start({
      ...context.pa,
      groupId: `bench-${context.runId}-dlq`,
      // Empty counts as unset: pa's default cache, whatever the environment the bench runs in says.
      env: { KAFKA_TOPIC: topic, KAFKA_AUTO_OFFSET_RESET: "earliest", DLQ_CACHE_RECORDS: "" },
    });
    let uncachedPa: PaProcess | undefined;
    const connections: Http2SessionManager[] = [];
    try {
      const deadLettering = await waitForDeadLetters(context, cachedPa, dlqTopic, {
        from: 0,
        to: n,
        spawnedAt,
      });
      const loadAfterDeadLettering = os.loadavg()[0] ?? 0;
      context.log(
        `pa dead-lettered ${formatCount(n)} at ${formatLetters(deadLettering.rate)} (${formatPercent(deadLettering.rate / kcatRate)} of kcat reading the source); ${formatMs(deadLettering.wallMs)} from spawning pa`,
      );
      const kcatDlq = await drainWithKcat(context, dlqTopic, n);
      context.log(`kcat: the whole DLQ (${formatCount(n)} letters) in ${formatMs(kcatDlq.wallMs)}`);
      const rssBeforeCalls = cachedPa.status().rssBytes;

      const cached = connectAdmin(cachedPa.baseUrl, connections);
      const cachedTimings = await timeListing(context, "cached", cached, topic, n);

      // Started only now so that it does not run beside the first pa while that one dead-letters.
      // KAFKA_TOPIC empty: it consumes nothing at start-up, so it cannot dead-letter the records again.
      uncachedPa = await PaProcess.start({
        ...context.pa,
        groupId: `bench-${context.runId}-dlq-uncached`,
        env: { KAFKA_TOPIC: "", DLQ_CACHE_RECORDS: "0" },
      });
      const uncached = connectAdmin(uncachedPa.baseUrl, connections);
      const uncachedTimings = await timeListing(context, "uncached", uncached, topic, n);

      context.log(`producing ${formatCount(MORE_LETTERS)} more poison records`);
      await context.kafka.preloadInvalid(topic, MORE_LETTERS, SEED + 1);
      const total = n + MORE_LETTERS;
      await waitForDeadLetters(context, cachedPa, dlqTopic, {
        from: n,
        to: total,
        spawnedAt: performance.now(),
      });
      const cachedNextMs = await listFirstPage(cached, topic, total, "cached");
      const uncachedNextMs = await listFirstPage(uncached, topic, total, "uncached");
      context.log(
        `next call after ${formatCount(MORE_LETTERS)} more letters: cached ${formatMs(cachedNextMs)} (reads the new ones), uncached ${formatMs(uncachedNextMs)} (reads all ${formatCount(total)})`,
      );

      const cachedRss = cachedPa.status().rssBytes;
      const uncachedRss = uncachedPa.status().rssBytes;
      context.log(
        `pa RSS: cached ${formatMiB(rssBeforeCalls)} before its first call, ${formatMiB(cachedRss)} after its calls; uncached ${formatMiB(uncachedRss)} after its calls`,
      );
      const loadAfterCalls = os.loadavg()[0] ?? 0;

      const rows: Row[] = [
        {
          measure: `dead-letter ${formatCount(n)} poison records (letters/s)`,
          pa: formatLetters(deadLettering.rate),
          baseline: formatRate(kcatRate),
          comparison: `${formatPercent(deadLettering.rate / kcatRate)} of kcat reading the source topic`,
        },
        ...listingRows({ n, kcatDlqMs: kcatDlq.wallMs, cachedTimings, uncachedTimings }),
        {
          measure: `ListDeadLetters after ${formatCount(MORE_LETTERS)} more letters: next call (cached / uncached)`,
          pa: `${formatMs(cachedNextMs)} / ${formatMs(uncachedNextMs)}`,
          baseline: "",
          comparison: `cached reads the ${formatCount(MORE_LETTERS)} new letters, uncached all ${formatCount(total)}`,
        },
        {
          measure: "pa RSS after the calls (cached / uncached)",
          pa: `${formatMiB(cachedRss)} / ${formatMiB(uncachedRss)}`,
          baseline: "",
          comparison: `cached pa ${formatMiB(rssBeforeCalls)} before its first call`,
        },
      ];
      return {
        rows,
        notes: [
          `dlq: dead-lettering rate = letters per second from the first DLQ record seen to the ${formatCount(n)}-th (the DLQ's partition ends, polled every ${POLL_MS} ms), pa processing a pinned topic of poison records only (the generator's invalid kinds in turn) from the earliest offset; kcat's rate is reading the same source topic to its end.`,
          `dlq: ListDeadLetters through pa's gRPC (connect-node, one HTTP/2 connection per pa, one call at a time), first page of ${PAGE_SIZE}, every answer's total_count checked against the DLQ. "First call" is pa's first read of the DLQ (all ${formatCount(n)} letters; kcat's figure is reading the whole DLQ from a new process); then ${REPEATED_CALLS} further calls with nothing new. "Cached" is pa with its default DLQ_CACHE_RECORDS, "uncached" a second pa with DLQ_CACHE_RECORDS=0 (every call reads the whole DLQ, as before the cache) on the same DLQ, started after the cached pa's calls and consuming nothing. "Next call" follows ${formatCount(MORE_LETTERS)} more poison records dead-lettered by the cached pa. RSS: each pa's VmRSS after all its calls. Load average (1 min): ${loadAfterDeadLettering.toFixed(1)} after dead-lettering, ${loadAfterCalls.toFixed(1)} after the calls.`,
        ],
      };
    } finally {
      for (const connection of connections) connection.abort();
      await uncachedPa?.stop();
      await cachedPa.stop();
    }
  },
};

interface ListTimings {
  /** The pa's first ListDeadLetters of the topic: it reads the whole DLQ. */
  firstMs: number;
  /** The REPEATED_CALLS calls after it, nothing new in the DLQ. */
  repeated: Distribution;
}

/** The ListDeadLetters rows: first call beside kcat's read of the DLQ, then the repeated calls. */
function listingRows({
  n,
  kcatDlqMs,
  cachedTimings: cached,
  uncachedTimings: uncached,
}: {
  n: number;
  kcatDlqMs: number;
  cachedTimings: ListTimings;
  uncachedTimings: ListTimings;
}): Row[] {
  const times = (a: number, b: number) => `${(a / b).toFixed(1)}×`;
  return [
    {
      measure: `ListDeadLetters first call, reads all ${formatCount(n)} letters (cached / uncached)`,
      pa: `${formatMs(cached.firstMs)} / ${formatMs(uncached.firstMs)}`,
      baseline: `${formatMs(kcatDlqMs)} (reads the DLQ)`,
      comparison: `${times(cached.firstMs, kcatDlqMs)} / ${times(uncached.firstMs, kcatDlqMs)} kcat's time`,
    },
    {
      measure: `ListDeadLetters, ${REPEATED_CALLS} further calls: p50 (cached / uncached)`,
      pa: `${formatMs(cached.repeated.p50)} / ${formatMs(uncached.repeated.p50)}`,
      baseline: "",
      comparison: `cached ${times(uncached.repeated.p50, cached.repeated.p50)} faster`,
    },
    {
      measure: `ListDeadLetters, ${REPEATED_CALLS} further calls: p99 (cached / uncached)`,
      pa: `${formatMs(cached.repeated.p99)} / ${formatMs(uncached.repeated.p99)}`,
      baseline: "",
      comparison: `cached ${times(uncached.repeated.p99, cached.repeated.p99)} faster`,
    },
  ];
}

/** kcat reading the topic to its end; it must find every record produced to it. */
async function drainWithKcat(context: BenchContext, topic: string, expected: number) {
  const drain = await kcatDrain(context.brokers, topic, context.children);
  if (drain.count !== expected) {
    throw new Error(`kcat read ${drain.count} records from ${topic}, expected ${expected}`);
  }
  return drain;
}

/** A DeadLetterService client on its own HTTP/2 connection, added to `connections` to close. */
function connectAdmin(baseUrl: string, connections: Http2SessionManager[]): AdminClient {
  const sessionManager = new Http2SessionManager(baseUrl);
  connections.push(sessionManager);
  return createClient(DeadLetterService, createGrpcTransport({ baseUrl, sessionManager }));
}

/** The first call (a full read of the DLQ), then REPEATED_CALLS more, each checked. */
async function timeListing(
  context: BenchContext,
  label: string,
  client: AdminClient,
  topic: string,
  letters: number,
): Promise<ListTimings> {
  const firstMs = await listFirstPage(client, topic, letters, label);
  context.log(
    `${label}: first ListDeadLetters (reads all ${formatCount(letters)} letters) ${formatMs(firstMs)}`,
  );
  const samples = new Float64Array(REPEATED_CALLS);
  for (let i = 0; i < REPEATED_CALLS; i++) samples[i] = await listFirstPage(client, topic, letters, label);
  const repeated = distribution(samples);
  context.log(
    `${label}: ${REPEATED_CALLS} further calls p50 ${formatMs(repeated.p50)}  p99 ${formatMs(repeated.p99)}  max ${formatMs(repeated.max)}`,
  );
  return { firstMs, repeated };
}

/**
 * One ListDeadLetters first page, timed. A total other than the letters in the DLQ, or a short
 * page, means pa lost or invented dead letters: DeliveryError.
 */
async function listFirstPage(
  client: AdminClient,
  topic: string,
  letters: number,
  label: string,
): Promise<number> {
  const started = performance.now();
  const page = await client.listDeadLetters({ topic, pageSize: PAGE_SIZE });
  const ms = performance.now() - started;
  if (page.totalCount !== BigInt(letters)) {
    throw new DeliveryError(
      `${label}: ListDeadLetters counted ${page.totalCount} dead letters of ${topic}, its DLQ holds ${letters}`,
    );
  }
  const expectedLength = Math.min(PAGE_SIZE, letters);
  if (page.deadLetters.length !== expectedLength) {
    throw new DeliveryError(
      `${label}: ListDeadLetters returned a page of ${page.deadLetters.length}, expected ${expectedLength}`,
    );
  }
  return ms;
}

interface DeadLettering {
  /** Letters written per second, from the first new one seen to the last. */
  rate: number;
  /** From `spawnedAt` to the last letter seen. */
  wallMs: number;
}

/**
 * Waits until the DLQ's partition ends sum to `to` (they stood at `from`), polling; fails if they
 * go beyond it (letters written twice) or stop growing for STALL_MS first (records lost, or pa stuck).
 */
async function waitForDeadLetters(
  context: BenchContext,
  pa: PaProcess,
  dlqTopic: string,
  { from, to, spawnedAt }: { from: number; to: number; spawnedAt: number },
): Promise<DeadLettering> {
  let count = from;
  let first: { at: number; count: number } | undefined;
  let lastGrowth = performance.now();
  let lastLog = performance.now();
  let lastProblem = "";
  while (count < to) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const now = performance.now();
    if (!pa.running) throw new Error(`pa exited while dead-lettering; last log lines:\n${pa.logTail()}`);
    try {
      const ends = await context.kafka.partitionEnds(dlqTopic);
      // pa created the DLQ: delete it with the run's topics (idempotent, so every poll may ask).
      context.kafka.deleteAfterwards(dlqTopic);
      const written = ends.reduce((sum, end) => sum + end, 0);
      if (written > count) {
        count = written;
        lastGrowth = now;
        first ??= { at: now, count };
      }
    } catch (error) {
      // Until pa writes its first letter there is no DLQ topic to ask about.
      lastProblem = ` (last answer: ${String(error)})`;
    }
    if (count > to) throw new DeliveryError(`${dlqTopic} holds ${count} records, ${to} were expected`);
    if (now - lastGrowth > STALL_MS) {
      throw new DeliveryError(
        `${dlqTopic} stopped at ${formatCount(count)} of ${formatCount(to)} records (no growth for ${STALL_MS / 1000} s)${lastProblem}; pa's last log lines:\n${pa.logTail()}`,
      );
    }
    if (now - lastLog > 10_000) {
      lastLog = now;
      context.log(`${formatCount(count)} of ${formatCount(to)} dead-lettered`);
    }
  }
  const doneAt = performance.now();
  const start = first ?? { at: spawnedAt, count: from };
  // When the first poll already found most of the letters (a small N), the rate from that poll
  // would rest on a handful of letters: count from `spawnedAt` instead.
  const steady = start.count - from <= (to - from) / 2 && doneAt > start.at;
  const rate = steady
    ? (to - start.count) / ((doneAt - start.at) / 1000)
    : (to - from) / ((doneAt - spawnedAt) / 1000);
  return { rate, wallMs: doneAt - spawnedAt };
}

function formatLetters(perSecond: number): string {
  return `${formatCount(perSecond)} letters/s`;
}
