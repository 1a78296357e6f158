// Fan-out: many concurrent streams on one topic (500 over 10 HTTP/2 connections by default, well
// under pa's MAX_STREAMS_PER_CONNECTION of 1000), records produced one by one at 100 msg/s. Every
// stream must receive every record exactly once; latency (produce ack -> arrival) is taken over
// every delivery. A live kcat on the same topic is the single-consumer baseline.
import os from "node:os";
import { createPaymentGenerator } from "../server/demo/payment-generator.js";
import { waitWhileProgressing } from "./support/client.js";
import { ackTimes, DeliveryLog, indexRecords, warmUp } from "./support/deliveries.js";
import { PARTITIONS } from "./support/kafka.js";
import { KcatFollower } from "./support/kcat.js";
import { PA_UV_THREADPOOL_SIZE, PaProcess } from "./support/pa-process.js";
import { CpuMeter } from "./support/proc.js";
import { type BenchContext, DeliveryError, type Scenario, type ScenarioResult } from "./support/scenario.js";
import { distribution, formatCount, formatDistribution, formatMs, formatRate } from "./support/stats.js";
import { StreamWorkers } from "./support/stream-workers.js";
import { ThreadGroupMeter } from "./support/threads.js";

// Deliveries not made while nothing arrived for this long count as lost: slow is waited for.
const STALL_MS = 10_000;
// The client decodes every delivery (50,000 a second by default): one event loop would measure
// its own queue, so the streams are spread over a thread per core.
const CLIENT_THREADS = Math.max(1, Math.min(4, os.availableParallelism()));

/**
 * Stream i's filter in fan-out-filtered: a distinct CEL expression per stream (different constants,
 * a map lookup, a string function) that every generated payment satisfies, so every stream still
 * gets every record and the run differs from fan-out only by 500 filters evaluated per record.
 */
export function distinctFilter(stream: number): string {
  return `payment.amount_minor > ${-1 - stream} && payment.metadata["channel"] != "none-${stream}" && !payment.customer_email.endsWith("@none-${stream}.example")`;
}

export const fanOut: Scenario = fanOutScenario(false);
export const fanOutFiltered: Scenario = fanOutScenario(true);

function fanOutScenario(filtered: boolean): Scenario {
  return {
    name: filtered ? "fan-out-filtered" : "fan-out",
    title: filtered
      ? "many concurrent streams on one topic, each with its own CEL filter"
      : "many concurrent streams on one topic",
    async run(context: BenchContext): Promise<ScenarioResult> {
      const { streams, connections: connectionCount, fanOutRate: rate, seconds } = context.sizes;
      const topic = `bench.fan-out${filtered ? "-filtered" : ""}.${context.runId}`;
      await context.kafka.createTopics([topic]);
      const generator = createPaymentGenerator({ seed: 3 });
      const records = Array.from({ length: rate * seconds }, () => generator.valid());
      const index = indexRecords(records);
      const logs = Array.from({ length: streams }, () => new DeliveryLog(index));
      const kcatLog = new DeliveryLog(index);

      const pa = await PaProcess.start({
        ...context.pa,
        groupId: `bench-${context.runId}-fan-out${filtered ? "-filtered" : ""}`,
      });
      const producer = await context.kafka.rateProducer();
      const opened = performance.now();
      const clients = new StreamWorkers(
        {
          baseUrl: pa.baseUrl,
          topic,
          streams,
          connections: connectionCount,
          threads: CLIENT_THREADS,
          ...(filtered ? { filterFor: distinctFilter } : {}),
        },
        (stream, id, arrivalMs, partition) => logs[stream]?.record(id, arrivalMs, partition),
      );
      const errors = clients.errors;
      const kcat = KcatFollower.start(context.brokers, topic, context.children, (key, arrivalMs) =>
        kcatLog.record(key, arrivalMs),
      );
      try {
        context.log(`opening ${streams} streams over ${connectionCount} connections`);
        await warmUp(
          producer,
          topic,
          generator,
          () => (kcatLog.warmOn(1) && logs.every((log) => log.warmOn(PARTITIONS))) || errors.length > 0,
        );
        if (errors.length > 0) throw errors[0];
        const joinMs = performance.now() - opened;
        context.log(
          `all ${streams} streams receive live events from every partition after ${formatMs(joinMs)}`,
        );
        context.log(
          `producing ${formatCount(records.length)} records at ${formatRate(rate)} to ${streams} streams`,
        );
        const paCpu = new CpuMeter(pa.pid);
        const paThreads = new ThreadGroupMeter(pa.pid, PA_UV_THREADPOOL_SIZE);
        const clientCpu = new CpuMeter(process.pid); // the whole process: every client thread
        const run = await producer.run(topic, records, rate);
        const delivered = () => logs.reduce((sum, log) => sum + log.received, kcatLog.received);
        await waitWhileProgressing(
          () => (kcatLog.complete && logs.every((log) => log.complete)) || errors.length > 0,
          delivered,
          STALL_MS,
        );
        const cpu = paCpu.read();
        const client = clientCpu.read();
        const groups = paThreads.read();
        if (errors.length > 0) throw errors[0];
        const short = logs
          .map((log, i) => ({ i, missing: log.missing, duplicates: log.duplicates }))
          .filter((s) => s.missing > 0 || s.duplicates > 0);
        if (short.length > 0) {
          const lost = short.reduce((sum, s) => sum + s.missing, 0);
          const examples = short
            .slice(0, 5)
            .map((s) => `stream ${s.i}: ${s.missing} missing, ${s.duplicates} repeated`)
            .join("; ");
          throw new DeliveryError(
            `${short.length} of ${streams} streams did not get every record exactly once: ${formatCount(lost)} of ${formatCount(streams * records.length)} deliveries missing after ${STALL_MS / 1000} s without any (${examples})`,
          );
        }
        if (!kcatLog.complete) {
          throw new Error(`the kcat baseline received only ${kcatLog.received} of ${records.length} records`);
        }
        const acks = ackTimes(records, run.acked);
        const all = new Float64Array(streams * records.length);
        for (const [i, log] of logs.entries()) all.set(log.latencies(acks), i * records.length);
        const paLatency = distribution(all);
        const kcatLatency = distribution(kcatLog.latencies(acks));
        const deliveries = streams * records.length;
        context.log(
          `every stream got all ${formatCount(records.length)} records: ${formatCount(deliveries)} deliveries; latency p50 / p99 / max:`,
        );
        context.log(
          `pa:   ${formatDistribution(paLatency)} (pa CPU ${cpu.coreShare.toFixed(2)} cores, client ${client.coreShare.toFixed(2)} cores)`,
        );
        context.log(`kcat: ${formatDistribution(kcatLatency)} (one consumer)`);
        const load = `${streams}${filtered ? " filtered" : ""} streams / ${connectionCount} conns, ${formatRate(run.achievedRate)} × ${seconds} s`;
        return {
          rows: [
            {
              measure: `every stream got every event (${load})`,
              pa: `${formatCount(deliveries)} of ${formatCount(deliveries)}`,
              baseline: `${formatCount(records.length)} of ${formatCount(records.length)}`,
              target: "no loss",
              met: true,
            },
            {
              measure: "streams opened → all live on every partition",
              pa: formatMs(joinMs),
              baseline: "",
            },
            {
              measure: "latency p50, ack → event, all deliveries",
              pa: formatMs(paLatency.p50),
              baseline: formatMs(kcatLatency.p50),
            },
            {
              measure: "latency p99",
              pa: formatMs(paLatency.p99),
              baseline: formatMs(kcatLatency.p99),
              target: "≤ 50 ms",
              met: paLatency.p99 <= 50,
            },
            { measure: "latency max", pa: formatMs(paLatency.max), baseline: formatMs(kcatLatency.max) },
            {
              measure: "pa CPU per delivered event, view included (µs)",
              pa: ((cpu.seconds * 1e6) / deliveries).toFixed(2),
              baseline: "",
              target: "≤ 2 µs",
              met: (cpu.seconds * 1e6) / deliveries <= 2,
            },
            {
              measure: "pa CPU per delivered event by thread group (µs)",
              pa: groups
                .filter((group) => group.seconds > 0)
                .map((group) => `${group.group} ${((group.seconds * 1e6) / deliveries).toFixed(2)}`)
                .join(" · "),
              baseline: "",
            },
            {
              measure: "CPU (cores)",
              pa: `${cpu.coreShare.toFixed(2)} pa + ${client.coreShare.toFixed(2)} client`,
              baseline: "",
            },
          ],
          notes: [
            `fan-out: the ${streams} streams' client runs in the benchmark process, spread over ${CLIENT_THREADS} worker threads that read their streams over raw HTTP/2 (16 MiB receive window per stream) and decode every delivery (arrival times are taken in those threads, when the bytes arrive); the client's CPU is the whole benchmark process's (the producer and kcat's reader included); kcat is a single consumer, for scale. Streams join while a warm-up record is produced every 100 ms to each partition in turn; measuring starts once every stream has received one from every partition.`,
            ...(filtered
              ? [
                  `fan-out-filtered: each stream has its own CEL filter (e.g. ${distinctFilter(7)}), which every record satisfies: the same deliveries as fan-out, plus ${streams} filter evaluations per record.`,
                ]
              : []),
          ],
        };
      } finally {
        await clients.stop();
        await kcat.stop();
        await producer.disconnect();
        await pa.stop();
      }
    },
  };
}
