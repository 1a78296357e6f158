// Latency: records produced one by one at a steady rate (1,000 msg/s for 10 s by default) to a
// fresh topic, each one's produce acknowledgement timed; one gRPC stream from LATEST and a live
// kcat read the same topic at the same time. Latency is event arrival minus produce ack, per
// record, for both. Every record must reach pa's stream exactly once.
import { StreamStart } from "../gen/payment/payment_pb.js";
import { createPaymentGenerator } from "../server/demo/payment-generator.js";
import { waitWhileProgressing } from "./support/client.js";
import { ackTimes, DeliveryLog, indexRecords, warmUp } from "./support/deliveries.js";
import { PARTITIONS } from "./support/kafka.js";
import { KcatFollower } from "./support/kcat.js";
import { PaProcess } from "./support/pa-process.js";
import { CpuMeter } from "./support/proc.js";
import { type BenchContext, DeliveryError, type Scenario, type ScenarioResult } from "./support/scenario.js";
import { distribution, formatCount, formatDistribution, formatMs, formatRate } from "./support/stats.js";
import { StreamClient } from "./support/stream-client.js";

// Records not delivered while nothing arrived for this long count as lost: slow is waited for.
const STALL_MS = 10_000;

export const latency: Scenario = {
  name: "latency",
  title: "one live stream, records produced one by one at a steady rate",
  async run(context: BenchContext): Promise<ScenarioResult> {
    const { rate, seconds } = context.sizes;
    const topic = `bench.latency.${context.runId}`;
    await context.kafka.createTopics([topic]);
    const generator = createPaymentGenerator({ seed: 2 });
    const records = Array.from({ length: rate * seconds }, () => generator.valid());
    const index = indexRecords(records);
    const paLog = new DeliveryLog(index);
    const kcatLog = new DeliveryLog(index);

    const pa = await PaProcess.start({ ...context.pa, groupId: `bench-${context.runId}-latency` });
    const client = await StreamClient.start(pa.baseUrl);
    const producer = await context.kafka.rateProducer();
    const abort = new AbortController();
    let streamError: unknown;
    const stream = client
      .follow(
        { topic, existingLimit: 0, startPosition: { case: "start", value: StreamStart.LATEST } },
        abort.signal,
        ({ paymentId, arrivalMs, partition }) => paLog.record(paymentId, arrivalMs, partition),
      )
      .catch((error: unknown) => {
        streamError = error;
      });
    const kcat = KcatFollower.start(context.brokers, topic, context.children, (key, arrivalMs) =>
      kcatLog.record(key, arrivalMs),
    );
    try {
      await warmUp(
        producer,
        topic,
        generator,
        () => (paLog.warmOn(PARTITIONS) && kcatLog.warmOn(1)) || streamError !== undefined,
      );
      if (streamError) throw streamError;
      context.log(`producing ${formatCount(records.length)} records at ${formatRate(rate)}`);
      const paCpu = new CpuMeter(pa.pid);
      const benchCpu = new CpuMeter(process.pid); // every thread: the client, the producer, kcat's reader
      const run = await producer.run(topic, records, rate);
      await waitWhileProgressing(
        () => (paLog.complete && kcatLog.complete) || streamError !== undefined,
        () => paLog.received + kcatLog.received,
        STALL_MS,
      );
      const cpu = paCpu.read();
      const bench = benchCpu.read();
      if (streamError) throw streamError;
      if (!paLog.complete || paLog.duplicates > 0) {
        throw new DeliveryError(
          `pa's stream received ${paLog.received} of ${records.length} records (${paLog.missing} missing after ${STALL_MS / 1000} s without a delivery, ${paLog.duplicates} repeated)`,
        );
      }
      if (!kcatLog.complete) {
        throw new Error(`the kcat baseline received only ${kcatLog.received} of ${records.length} records`);
      }
      const acks = ackTimes(records, run.acked);
      const paLatency = distribution(paLog.latencies(acks));
      const kcatLatency = distribution(kcatLog.latencies(acks));
      context.log(
        `achieved ${formatRate(run.achievedRate)}; latency p50 / p99 / max (produce ack -> arrival):`,
      );
      context.log(
        `pa:   ${formatDistribution(paLatency)} (pa CPU ${cpu.coreShare.toFixed(2)} cores, client ${bench.coreShare.toFixed(2)} cores)`,
      );
      context.log(`kcat: ${formatDistribution(kcatLatency)}`);
      const than = (pa: number, kcat: number) =>
        `${pa - kcat >= 0 ? "+" : "−"}${formatMs(Math.abs(pa - kcat))}`;
      const load = `${formatRate(run.achievedRate)} × ${seconds} s`;
      return {
        rows: [
          {
            measure: `latency p50, ack → event (${load})`,
            pa: formatMs(paLatency.p50),
            baseline: formatMs(kcatLatency.p50),
            comparison: than(paLatency.p50, kcatLatency.p50),
            target: "≤ 3 ms",
            met: paLatency.p50 <= 3,
          },
          {
            measure: "latency p99",
            pa: formatMs(paLatency.p99),
            baseline: formatMs(kcatLatency.p99),
            comparison: than(paLatency.p99, kcatLatency.p99),
            target: "≤ 10 ms",
            met: paLatency.p99 <= 10,
          },
          {
            measure: "latency max",
            pa: formatMs(paLatency.max),
            baseline: formatMs(kcatLatency.max),
            comparison: than(paLatency.max, kcatLatency.max),
          },
          {
            measure: "CPU at this rate (cores)",
            pa: `${cpu.coreShare.toFixed(2)} pa + ${bench.coreShare.toFixed(2)} client`,
            baseline: "",
          },
        ],
        notes: [
          "latency and fan-out: each record is produced on its own (linger.ms 0, acks=1); latency is the time the event's last byte reached the client's reading thread (pa's streams are read over raw HTTP/2 and every event is decoded afterwards, in worker threads) or kcat's output line was read, minus the produce acknowledgement, all timed in the benchmark process, so it can be slightly negative when an arrival is handled before its ack. The client's CPU is the benchmark process's (all its threads, the producer and kcat's reader included).",
        ],
      };
    } finally {
      abort.abort();
      await stream;
      await kcat.stop();
      await producer.disconnect();
      await client.close();
      await pa.stop();
    }
  },
};
