// Throughput: a 3-partition topic preloaded with N PoC payments, read from the start. kcat reads
// it to the end; then a fresh pa (a consumer group that never read the topic) serves one
// StreamPayments call from EARLIEST, twice: once with the topic processed (its payments stored in
// the embedded view as they stream, as a KAFKA_TOPIC or PROCESS_TOPICS topic is) and once read-only
// (streamed only). The client (raw HTTP/2, decoding in worker threads: support/stream-client.ts)
// decodes every event until it has all N. Every partition's offsets must arrive in order with no
// gap and no repeat.
import { StreamStart } from "../gen/payment/payment_pb.js";
import { kcatDrain } from "./support/kcat.js";
import { describeReads, topicReads } from "./support/pa-metrics.js";
import { PaProcess } from "./support/pa-process.js";
import { CpuMeter } from "./support/proc.js";
import {
  type BenchContext,
  DeliveryError,
  type Row,
  type Scenario,
  type ScenarioResult,
} from "./support/scenario.js";
import { formatCount, formatMiB, formatMs, formatPercent, formatRate } from "./support/stats.js";
import { StreamClient } from "./support/stream-client.js";

// A stream that delivers nothing for this long has lost events (or pa is stuck): fail, loudly.
const STALL_MS = 30_000;
const TARGET_SHARE = 0.4;
const TARGET_FLOOR = 60_000;

interface Variant {
  label: string;
  /** PROCESS_TOPICS for pa: whether it stores the topic's payments as it streams them. */
  processTopics: string;
}

const VARIANTS: Variant[] = [
  { label: "processed (stored as it streams)", processTopics: "*" },
  // A pattern no benchmark topic matches: every topic is streamed read-only.
  { label: "read-only (streamed only)", processTopics: "no-benchmark-topic" },
];

export const throughput: Scenario = {
  name: "throughput",
  title: "one stream reads a preloaded topic from the start",
  async run(context: BenchContext): Promise<ScenarioResult> {
    const n = context.sizes.messages;
    const topic = `bench.throughput.${context.runId}`;
    await context.kafka.createTopics([topic]);
    context.log(`preloading ${formatCount(n)} payments into ${topic}`);
    await context.kafka.preload(topic, n, 1);
    const ends = await context.kafka.partitionEnds(topic);

    const kcat = await kcatDrain(context.brokers, topic, context.children);
    if (kcat.count !== n) throw new Error(`kcat read ${kcat.count} records from ${topic}, expected ${n}`);
    const kcatRate = n / (kcat.wallMs / 1000);
    context.log(
      `kcat: ${formatCount(n)} in ${formatMs(kcat.wallMs)} = ${formatRate(kcatRate)} (CPU ${kcat.cpuSeconds.toFixed(2)} s)`,
    );
    const rows: Row[] = [];
    for (const variant of VARIANTS) {
      rows.push(...(await readOnce(context, topic, ends, variant, { rate: kcatRate, ...kcat })));
    }
    return {
      rows,
      notes: [
        `throughput: pa's time runs from the StreamPayments call to the arrival of the N-th event (each decoded in the client's worker threads; the client's CPU is the benchmark process's, all its threads) on a fresh pa (its feed starts with the call); kcat's from spawning it to its exit at the end of the topic (-o beginning -e, each value printed to a pipe and counted).`,
      ],
    };
  },
};

async function readOnce(
  context: BenchContext,
  topic: string,
  ends: number[],
  variant: Variant,
  kcat: { rate: number; wallMs: number; cpuSeconds: number },
): Promise<Row[]> {
  const n = context.sizes.messages;
  const pa = await PaProcess.start({
    ...context.pa,
    groupId: `bench-${context.runId}-throughput-${VARIANTS.indexOf(variant)}`,
    env: { PROCESS_TOPICS: variant.processTopics },
  });
  const client = await StreamClient.start(pa.baseUrl);
  try {
    const next = new Array<number>(ends.length).fill(0);
    const positions = () => next.map((offset, p) => `p${p} ${offset}/${ends[p]}`).join(", ");
    const abort = new AbortController();
    let received = 0;
    let problem: string | undefined;
    let firstAt: number | undefined;
    let lastAt = performance.now();
    let peakRss = 0;
    const paCpu = new CpuMeter(pa.pid);
    const clientCpu = process.cpuUsage();
    const started = performance.now();
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, pa.status().rssBytes);
      if (performance.now() - lastAt > STALL_MS) {
        problem = `stalled: no event for ${STALL_MS / 1000} s after ${formatCount(received)} of ${formatCount(n)} (${positions()}; ${formatRate(received / ((lastAt - started) / 1000))} until then)`;
        abort.abort();
      }
    }, 250);
    try {
      await client.follow(
        { topic, existingLimit: 0, startPosition: { case: "start", value: StreamStart.EARLIEST } },
        abort.signal,
        ({ partition, offset, arrivalMs }) => {
          if (abort.signal.aborted) return;
          firstAt ??= arrivalMs;
          lastAt = arrivalMs;
          if (offset !== next[partition]) {
            problem = `partition ${partition}: offset ${offset} arrived where ${next[partition]} was due`;
            abort.abort();
            return;
          }
          next[partition] = offset + 1;
          if (++received === n) abort.abort();
        },
      );
    } finally {
      clearInterval(sampler);
    }
    const wallMs = lastAt - started;
    const cpu = paCpu.read();
    const clientUsage = process.cpuUsage(clientCpu);
    if (problem || received !== n) {
      throw new DeliveryError(
        `pa's stream (${variant.label}) ${problem ?? `ended after ${formatCount(received)} of ${formatCount(n)} events (${positions()})`}`,
      );
    }
    const reads = describeReads(await topicReads(pa.baseUrl, topic), n, formatCount);
    const paRate = n / (wallMs / 1000);
    const share = paRate / kcat.rate;
    const clientCores = (clientUsage.user + clientUsage.system) / 1000 / wallMs;
    context.log(
      `pa, ${variant.label}: ${formatCount(n)} in ${formatMs(wallMs)} = ${formatRate(paRate)} (${formatPercent(share)} of kcat); first event after ${formatMs((firstAt ?? started) - started)}; pa CPU ${cpu.coreShare.toFixed(2)} cores, client ${clientCores.toFixed(2)} cores, pa peak RSS ${formatMiB(peakRss)}; records read per event ${reads}`,
    );
    const label = variant.label;
    return [
      {
        measure: `${label}: read ${formatCount(n)} payments from the start (msg/s)`,
        pa: formatRate(paRate),
        baseline: formatRate(kcat.rate),
        comparison: `${formatPercent(share)} of kcat`,
        target: `≥ ${formatPercent(TARGET_SHARE)} of kcat and ≥ ${formatRate(TARGET_FLOOR)}`,
        met: share >= TARGET_SHARE && paRate >= TARGET_FLOOR,
      },
      {
        measure: `${label}: wall time (first event)`,
        pa: `${formatMs(wallMs)} (${formatMs((firstAt ?? started) - started)})`,
        baseline: formatMs(kcat.wallMs),
      },
      {
        measure: `${label}: CPU while reading (cores)`,
        pa: `${cpu.coreShare.toFixed(2)} pa + ${clientCores.toFixed(2)} client`,
        baseline: (kcat.cpuSeconds / (kcat.wallMs / 1000)).toFixed(2),
      },
      { measure: `${label}: pa peak RSS while reading`, pa: formatMiB(peakRss), baseline: "" },
      {
        measure: `${label}: Kafka records pa read per event delivered (live feed, again for the client, again for the view)`,
        pa: reads,
        baseline: "1.00",
      },
    ];
  } finally {
    await client.close();
    await pa.stop();
  }
}
