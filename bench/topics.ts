// Topics: many active topics in one pa process (200 by default, one stream each over a few
// connections). One record is produced to each and every stream must receive it; then pa's memory,
// threads and idle CPU are read from /proc. Last, a new subscription to a topic that exists but is
// not active yet: the time from the call to its first event, a record being produced as soon as pa
// reports the subscriber. kcat consuming one topic gives the scale of one librdkafka client.
import { spawn } from "node:child_process";
import { setMaxListeners } from "node:events";
import { StreamStart } from "../gen/payment/payment_pb.js";
import { createPaymentGenerator } from "../server/demo/payment-generator.js";
import { exited } from "./support/children.js";
import { followStream, PaConnections, subscriberCounts, waitUntil } from "./support/client.js";
import { KcatFollower } from "./support/kcat.js";
import { PaProcess } from "./support/pa-process.js";
import { CpuMeter } from "./support/proc.js";
import { type BenchContext, DeliveryError, type Scenario, type ScenarioResult } from "./support/scenario.js";
import { formatMiB, formatMs } from "./support/stats.js";

const STREAMS_PER_CONNECTION = 50;
const IDLE_MS = 3_000;
const RSS_TARGET = 400 * 1024 * 1024;
const THREADS_TARGET = 64;
const FIRST_EVENT_TARGET_MS = 500;

export const topics: Scenario = {
  name: "topics",
  title: "many active topics in one pa, then a new subscription",
  async run(context: BenchContext): Promise<ScenarioResult> {
    const count = context.sizes.topics;
    const names = Array.from({ length: count + 1 }, (_, i) => `bench.topics.${context.runId}.${i + 1}`);
    const active = names.slice(0, count);
    const newcomer = names[count] as string;
    context.log(`creating ${names.length} topics`);
    await context.kafka.createTopics(names);
    const generator = createPaymentGenerator({ seed: 4 });

    const pa = await PaProcess.start({ ...context.pa, groupId: `bench-${context.runId}-topics` });
    const connectionCount = Math.max(1, Math.ceil(count / STREAMS_PER_CONNECTION));
    const connections = new PaConnections(pa.baseUrl, connectionCount + 1);
    const observer = connections.clients[connectionCount] as (typeof connections.clients)[number];
    const producer = await context.kafka.rateProducer();
    const abort = new AbortController();
    // One signal ends every stream of the scenario.
    setMaxListeners(0, abort.signal);
    const errors: unknown[] = [];
    const received = new Array<number>(count).fill(0);
    const running = active.map((topic, i) =>
      followStream(
        connections.client(i % connectionCount),
        { topic, existingLimit: 0, startPosition: { case: "start", value: StreamStart.LATEST } },
        abort.signal,
        () => {
          received[i] = (received[i] ?? 0) + 1;
        },
      ).catch((error: unknown) => {
        errors.push(error);
      }),
    );
    const kcat = KcatFollower.start(context.brokers, active[0] as string, context.children, () => {});
    try {
      context.log(`opening ${count} streams, one per topic, over ${connectionCount} connections`);
      const opened = performance.now();
      await waitUntil(
        async () => {
          if (errors.length > 0) return true;
          const subscribers = await subscriberCounts(observer);
          return active.every((topic) => (subscribers.get(topic) ?? 0) >= 1);
        },
        120_000,
        `pa to report a subscriber on all ${count} topics`,
        100,
      );
      if (errors.length > 0) throw errors[0];
      const activationMs = performance.now() - opened;
      await Promise.all(active.map((topic) => producer.sendOne(topic, generator.valid())));
      await waitUntil(() => received.every((n) => n >= 1) || errors.length > 0, 30_000, "").catch(() => {});
      if (errors.length > 0) throw errors[0];
      const silent = received.flatMap((n, i) => (n === 1 ? [] : [`${active[i]}: ${n}`]));
      if (silent.length > 0) {
        throw new DeliveryError(
          `${silent.length} of ${count} streams did not receive their topic's one record exactly once (${silent.slice(0, 5).join("; ")})`,
        );
      }
      context.log(`all ${count} topics active (${formatMs(activationMs)}), each stream got its record`);

      // Idle: every topic active, nothing produced. pa should sleep, not spin.
      const paIdle = new CpuMeter(pa.pid);
      const kcatIdle = new CpuMeter(kcat.pid);
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
      const paIdleCpu = paIdle.read().coreShare;
      const kcatIdleCpu = kcatIdle.read().coreShare;
      const paStatus = pa.status();
      const kcatStatus = kcat.status();
      context.log(
        `pa:   RSS ${formatMiB(paStatus.rssBytes)}, ${paStatus.threads} threads, idle CPU ${(paIdleCpu * 100).toFixed(1)}% of a core (${count} topics)`,
      );
      context.log(
        `kcat: RSS ${formatMiB(kcatStatus.rssBytes)}, ${kcatStatus.threads} threads, idle CPU ${(kcatIdleCpu * 100).toFixed(1)}% of a core (1 topic)`,
      );

      // A new subscription on an existing, inactive topic: call -> pa reports it -> produce -> event.
      const callAt = performance.now();
      let firstAt: number | undefined;
      const newAbort = new AbortController();
      const newStream = followStream(
        connections.client(0),
        { topic: newcomer, existingLimit: 0, startPosition: { case: "start", value: StreamStart.LATEST } },
        newAbort.signal,
        (_event, arrivalMs) => {
          firstAt ??= arrivalMs;
          newAbort.abort();
        },
      );
      let newError: unknown;
      newStream.catch((error: unknown) => {
        newError = error;
      });
      await waitUntil(
        async () => newError !== undefined || ((await subscriberCounts(observer)).get(newcomer) ?? 0) >= 1,
        30_000,
        `pa to report the subscriber on ${newcomer}`,
        5,
      );
      if (newError) throw newError;
      const openAt = performance.now();
      const ackAt = await producer.sendOne(newcomer, generator.valid());
      await waitUntil(() => firstAt !== undefined || newError !== undefined, 30_000, "").catch(() => {});
      await newStream.catch(() => {});
      if (newError) throw newError;
      if (firstAt === undefined) {
        throw new DeliveryError(
          `the new subscription on ${newcomer} never received the record produced to it`,
        );
      }
      const firstEventMs = firstAt - callAt;
      const kcatFirstMs = await kcatFirstRecord(context, active[0] as string);
      context.log(
        `new subscription: call -> first event ${formatMs(firstEventMs)} (call -> subscribed ${formatMs(openAt - callAt)}, produce ack -> event ${formatMs(firstAt - ackAt)}); kcat start -> first record ${formatMs(kcatFirstMs)}`,
      );

      return {
        rows: [
          {
            measure: `RSS with ${count} active topics (${count} streams, ${connectionCount} conns)`,
            pa: formatMiB(paStatus.rssBytes),
            baseline: `${formatMiB(kcatStatus.rssBytes)} (1 topic)`,
            target: "≤ 400 MB",
            met: paStatus.rssBytes <= RSS_TARGET,
          },
          {
            measure: "threads",
            pa: String(paStatus.threads),
            baseline: `${kcatStatus.threads} (1 topic)`,
            target: `≤ ${THREADS_TARGET}`,
            met: paStatus.threads <= THREADS_TARGET,
          },
          {
            measure: "idle CPU, all topics active (% of a core)",
            pa: `${(paIdleCpu * 100).toFixed(1)}%`,
            baseline: `${(kcatIdleCpu * 100).toFixed(1)}% (1 topic)`,
          },
          {
            measure: "new subscription: call → first event",
            pa: `${formatMs(firstEventMs)} (subscribed ${formatMs(openAt - callAt)}, ack → event ${formatMs(firstAt - ackAt)})`,
            baseline: `${formatMs(kcatFirstMs)} (process start → first record)`,
            target: `≤ ${FIRST_EVENT_TARGET_MS} ms`,
            met: firstEventMs <= FIRST_EVENT_TARGET_MS,
          },
        ],
        notes: [
          `topics: the new subscription's record is produced as soon as GetTopics shows its subscriber (polled every 5 ms); kcat's figure is a new kcat process reading a topic that already holds a record.`,
        ],
      };
    } finally {
      abort.abort();
      await Promise.all(running);
      await kcat.stop();
      await producer.disconnect();
      connections.close();
      await pa.stop();
    }
  },
};

/** A new kcat process reading one existing record: spawn -> its line on stdout. */
async function kcatFirstRecord(context: BenchContext, topic: string): Promise<number> {
  const started = performance.now();
  const child = context.children.add(
    spawn(
      "kcat",
      ["-b", context.brokers, "-C", "-q", "-t", topic, "-o", "beginning", "-c", "1", "-f", "%k\\n"],
      {
        stdio: ["ignore", "pipe", "ignore"],
      },
    ),
  );
  const firstLine = new Promise<number>((resolve) =>
    child.stdout?.once("data", () => resolve(performance.now())),
  );
  const code = await exited(child);
  if (code !== 0) throw new Error(`kcat could not read ${topic} (exit ${code})`);
  return (await firstLine) - started;
}
