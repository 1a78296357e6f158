// Burst: what one record costs pa. One gRPC client subscribes from LATEST to a fresh 3-partition
// topic; once it receives (warm-up records from every partition), N PoC payments are produced as
// fast as the producer goes, and the client must get every one, in partition order. pa's CPU is
// read per thread group from /proc/<pid>/task/*/stat (bench/support/threads.ts), from before the
// burst until its view (the store) has caught up too, and divided by N: CPU per record, the
// view included. Run twice, on fresh pa processes and topics: records without headers, and with
// one header each (pa reads none; the Kafka client converts them for every record anyway). kcat
// reads each topic to its end in the same run, for its rate and its CPU per record.
import { StreamStart } from "../gen/payment/payment_pb.js";
import { createPaymentGenerator } from "../server/demo/payment-generator.js";
import { type PaClient, PaConnections, waitUntil } from "./support/client.js";
import { warmUp } from "./support/deliveries.js";
import { PARTITIONS } from "./support/kafka.js";
import { type ClientDrain, clientAloneDrain } from "./support/kafka-client-drain.js";
import { kcatDrain } from "./support/kcat.js";
import { describeReads, type TopicReads, topicReads } from "./support/pa-metrics.js";
import { PA_UV_THREADPOOL_SIZE, PaProcess } from "./support/pa-process.js";
import {
  type BenchContext,
  DeliveryError,
  type Row,
  type Scenario,
  type ScenarioResult,
} from "./support/scenario.js";
import { formatCount, formatMiB, formatMs, formatPercent, formatRate } from "./support/stats.js";
import { StreamClient } from "./support/stream-client.js";
import { type GroupCpu, ThreadGroupMeter } from "./support/threads.js";

const STALL_MS = 30_000;
const VIEW_CATCH_UP_MS = 300_000;
const TARGET_SHARE = 0.4;
const TARGET_WHOLE_US = 10;
const TARGET_DELIVERY_US = 5;
const TARGET_RSS_BYTES = 150 * 2 ** 20;
// The view's threads: what "the delivery path" leaves out.
const VIEW_GROUPS = new Set(["view's SQLite writer", "other workers"]);
// A request id, as many producers add one: pa reads no header of it (only traceparent, while tracing).
const ONE_HEADER = { "x-request-id": "4bf92f3577b34da6a3ce929d0e0e4736" };

interface BurstRun {
  label: string;
  records: number;
  paRate: number;
  producedMs: number;
  groups: GroupCpu[];
  peakRss: number;
  kcatRate: number;
  kcatCpuSeconds: number;
  kcatRecords: number;
  /** @confluentinc/kafka-javascript alone reading the same topic: the floor under the delivery path. */
  clientAlone: ClientDrain;
  /** What pa read from Kafka for the topic: live, again for the client, again for the view. */
  reads: TopicReads;
  /** The benchmark process's CPU from the first produce to the last event: client and producer. */
  benchCpuSeconds: number;
}

function microseconds(seconds: number, records: number): string {
  return ((seconds * 1e6) / records).toFixed(1);
}

async function viewLag(client: PaClient, topic: string): Promise<bigint | undefined> {
  const topics = await client.getTopics({});
  return topics.details.find((detail) => detail.topic === topic)?.viewLag;
}

async function runBurst(
  context: BenchContext,
  label: string,
  headers: Record<string, string> | undefined,
): Promise<BurstRun> {
  const n = context.sizes.messages;
  const topic = `bench.burst.${context.runId}.${headers ? "header" : "plain"}`;
  await context.kafka.createTopics([topic]);
  const pa = await PaProcess.start({
    ...context.pa,
    groupId: `bench-${context.runId}-burst-${headers ? "header" : "plain"}`,
  });
  // The stream is read raw and decoded in worker threads; connect-node's client asks for the view's lag.
  const client = await StreamClient.start(pa.baseUrl);
  const connections = new PaConnections(pa.baseUrl, 1);
  const producer = await context.kafka.rateProducer();
  const abort = new AbortController();
  try {
    // partition -> the first burst offset, then the next one due; -1 until the warm-up ended.
    const start = new Array<number>(PARTITIONS).fill(-1);
    const next = new Array<number>(PARTITIONS).fill(-1);
    const warm = new Set<number>();
    let problem: string | undefined;
    let lastAt = performance.now();
    let streamError: unknown;
    const stream = client
      .follow(
        { topic, existingLimit: 0, startPosition: { case: "start", value: StreamStart.LATEST } },
        abort.signal,
        ({ partition, offset, arrivalMs }) => {
          if ((start[partition] ?? -1) < 0 || offset < (start[partition] ?? 0)) {
            warm.add(partition);
            return;
          }
          lastAt = arrivalMs;
          if (offset !== next[partition]) {
            problem ??= `partition ${partition}: offset ${offset} arrived where ${next[partition]} was due`;
            abort.abort();
            return;
          }
          next[partition] = offset + 1;
        },
      )
      .catch((error: unknown) => {
        streamError = error;
      });
    await warmUp(
      producer,
      topic,
      createPaymentGenerator({ seed: 71 }),
      () => warm.size >= PARTITIONS || streamError !== undefined,
    );
    if (streamError) throw streamError;
    // Warm-up sends still in flight land before the burst's first offsets.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = await context.kafka.partitionEnds(topic);
    before.forEach((offset, partition) => {
      start[partition] = offset;
      next[partition] = offset;
    });

    const meter = new ThreadGroupMeter(pa.pid, PA_UV_THREADPOOL_SIZE);
    let peakRss = pa.status().rssBytes;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, pa.status().rssBytes);
    }, 100);
    const benchCpu = process.cpuUsage();
    const started = performance.now();
    let producedMs = 0;
    let benchCpuSeconds = 0;
    let records = 0;
    try {
      context.log(`${label}: producing ${formatCount(n)} payments to ${topic}`);
      await context.kafka.preload(topic, n, 19, 1000, headers);
      producedMs = performance.now() - started;
      const ends = await context.kafka.partitionEnds(topic);
      records = ends.reduce((sum, end, partition) => sum + end - (before[partition] ?? 0), 0);
      const received = () =>
        next.reduce((sum, offset, partition) => sum + offset - (before[partition] ?? 0), 0);
      let seen = received();
      let progressAt = performance.now();
      while (!problem && streamError === undefined && next.some((offset, p) => offset < (ends[p] ?? 0))) {
        if (received() !== seen) {
          seen = received();
          progressAt = performance.now();
        } else if (performance.now() - progressAt > STALL_MS) {
          problem = `stalled: ${formatCount(seen)} of ${formatCount(records)} after ${STALL_MS / 1000} s without an event`;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (streamError) throw streamError;
      if (problem) throw new DeliveryError(`pa's stream: ${problem}`);
      const benchUsage = process.cpuUsage(benchCpu);
      benchCpuSeconds = (benchUsage.user + benchUsage.system) / 1e6;
      // The whole record's cost includes storing it: wait for the view, then read the CPU.
      await waitUntil(
        async () => ((await viewLag(connections.client(0), topic)) ?? 0n) === 0n,
        VIEW_CATCH_UP_MS,
        `pa's view of ${topic} to catch up`,
        100,
      );
    } finally {
      clearInterval(sampler);
    }
    const groups = meter.read();
    const paRate = records / ((lastAt - started) / 1000);
    const reads = await topicReads(pa.baseUrl, topic);

    const kcat = await kcatDrain(context.brokers, topic, context.children);
    const kcatRate = kcat.count / (kcat.wallMs / 1000);
    const clientAlone = await clientAloneDrain(context.brokers, topic, PARTITIONS, records, context.children);
    context.log(
      `${label}: pa ${formatCount(records)} in ${formatMs(lastAt - started)} = ${formatRate(paRate)} (produced in ${formatMs(producedMs)}); kcat ${formatCount(kcat.count)} in ${formatMs(kcat.wallMs)} = ${formatRate(kcatRate)}; pa peak RSS ${formatMiB(peakRss)}`,
    );
    context.log(
      `${label}: the Kafka client alone (kafka-javascript, pa's settings, nothing done with a record): ${formatRate(clientAlone.records / (clientAlone.wallMs / 1000))}, ${microseconds(clientAlone.processCpuSeconds, clientAlone.records)} µs of CPU per record (main thread ${microseconds(clientAlone.mainCpuSeconds, clientAlone.records)})`,
    );
    context.log(
      `${label}: Kafka records read per event delivered: ${describeReads(reads, records, formatCount)}`,
    );
    context.log(
      `${label}: benchmark process (client and producer) CPU ${benchCpuSeconds.toFixed(2)} s = ${microseconds(benchCpuSeconds, records)} µs per record, ${(benchCpuSeconds / ((lastAt - started) / 1000)).toFixed(2)} cores`,
    );
    context.log(
      `${label}: pa CPU µs per record: ${groups.map((g) => `${g.group} ${microseconds(g.seconds, records)} (${g.threads} threads)`).join(", ")}`,
    );
    abort.abort();
    await stream;
    return {
      label,
      records,
      paRate,
      producedMs,
      groups,
      peakRss,
      kcatRate,
      kcatCpuSeconds: kcat.cpuSeconds,
      kcatRecords: kcat.count,
      clientAlone,
      reads,
      benchCpuSeconds,
    };
  } finally {
    abort.abort();
    await producer.disconnect();
    connections.close();
    await client.close();
    await pa.stop();
  }
}

function rows(run: BurstRun): Row[] {
  const total = run.groups.reduce((sum, g) => sum + g.seconds, 0);
  const delivery = run.groups.filter((g) => !VIEW_GROUPS.has(g.group)).reduce((sum, g) => sum + g.seconds, 0);
  const totalUs = (total * 1e6) / run.records;
  const deliveryUs = (delivery * 1e6) / run.records;
  const share = run.paRate / run.kcatRate;
  return [
    {
      measure: `${run.label}: ${formatCount(run.records)} payments produced after one client subscribed (msg/s)`,
      pa: formatRate(run.paRate),
      baseline: formatRate(run.kcatRate),
      comparison: `${formatPercent(share)} of kcat`,
      target: `≥ ${formatPercent(TARGET_SHARE)} of kcat, 0 lost`,
      met: share >= TARGET_SHARE,
    },
    {
      measure: `${run.label}: CPU per record, whole process, view included (µs)`,
      pa: totalUs.toFixed(1),
      baseline: microseconds(run.kcatCpuSeconds, run.kcatRecords),
      target: `≤ ${TARGET_WHOLE_US}`,
      met: totalUs <= TARGET_WHOLE_US,
    },
    {
      measure: `${run.label}: CPU per record on the delivery path, all but the view's worker threads (µs)`,
      pa: deliveryUs.toFixed(1),
      baseline: `${microseconds(run.clientAlone.processCpuSeconds, run.clientAlone.records)} (the Kafka client alone)`,
      target: `≤ ${TARGET_DELIVERY_US}`,
      met: deliveryUs <= TARGET_DELIVERY_US,
    },
    {
      measure: `${run.label}: CPU per record by thread group (µs)`,
      pa: run.groups
        .filter((g) => g.threads > 0)
        .map((g) => `${g.group} ${microseconds(g.seconds, run.records)}`)
        .join(" · "),
      baseline: "",
    },
    {
      measure: `${run.label}: the benchmark's own CPU per record: the client reading and decoding, and the producer (µs)`,
      pa: microseconds(run.benchCpuSeconds, run.records),
      baseline: "",
    },
    {
      measure: `${run.label}: Kafka records pa read per event delivered (live feed, again for the client, again for the view)`,
      pa: describeReads(run.reads, run.records, formatCount),
      baseline: "",
    },
    {
      measure: `${run.label}: pa peak RSS during the burst`,
      pa: formatMiB(run.peakRss),
      baseline: "",
      target: `≤ ${formatMiB(TARGET_RSS_BYTES)}`,
      met: run.peakRss <= TARGET_RSS_BYTES,
    },
  ];
}

export const burst: Scenario = {
  name: "burst",
  title:
    "CPU per record by thread group: a burst produced after one client subscribed, without and with a header",
  async run(context: BenchContext): Promise<ScenarioResult> {
    const plain = await runBurst(context, "no header", undefined);
    const withHeader = await runBurst(context, "one header", ONE_HEADER);
    const cost = (run: BurstRun) => run.groups.reduce((sum, g) => sum + g.seconds, 0) / run.records;
    const headerUs = (cost(withHeader) - cost(plain)) * 1e6;
    return {
      rows: [
        ...rows(plain),
        ...rows(withHeader),
        {
          measure: "one header on every record: CPU per record it adds (difference of the two runs, µs)",
          pa: headerUs.toFixed(1),
          baseline: "",
        },
      ],
      notes: [
        "burst: pa's rate runs from the first produce to the last event's arrival at the client (the producer, in the benchmark's process, may be what limits it); kcat's from spawning it to its exit at the end of the same topic (-o beginning -e). CPU per record is pa's CPU from before the burst until its view caught up (view_lag 0), over the records of the burst, by thread group from /proc/<pid>/task/*/stat: main, the view's SQLite writer (the last Node worker started), other workers (the SQLite checkpointer, tsx's loader), V8 platform threads (GC helpers), librdkafka (rdk:*), the libuv threadpool. kcat's is its own CPU over the records it read. The delivery path's baseline is the Kafka client alone: @confluentinc/kafka-javascript with pa's live-feed settings reading the same topic to its end in a process of its own (consume(2000) in a loop, nothing done with a record; bench/support/kafka-client-drain.ts), its process's CPU over the records: what every record costs before pa does anything with it. The benchmark's own CPU (its process, all threads: the client reading the stream over raw HTTP/2 and decoding every event in worker threads, and the producer) runs from the first produce to the last event.",
      ],
    };
  },
};
