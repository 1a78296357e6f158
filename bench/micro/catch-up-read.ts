// `npx tsx bench/micro/catch-up-read.ts [records]`: how fast one of pa's partition readers (a
// lagging subscriber's catch-up reader; the view's own reader) reads a preloaded topic from the
// start, in pa's batches of 500, with librdkafka's default fetch.queue.backoff.ms (1 s) and with
// pa's, beside kcat reading the same topic in the same run. A reader keeps a small pre-fetch queue
// (queued.max.messages.kbytes); once it is full librdkafka waits the back-off before fetching
// again, so with the default a reader that drains its queue in milliseconds sat idle for most of
// each second. The topic is deleted afterwards.
import { randomBytes } from "node:crypto";
import { ConsumerFactory, connectConsumer } from "../../server/kafka/consumer-factory.js";
import { PartitionReader } from "../../server/kafka/partition-reader.js";
import { Children } from "../support/children.js";
import { BenchKafka } from "../support/kafka.js";
import { kcatDrain } from "../support/kcat.js";
import { cpuSeconds } from "../support/proc.js";
import { formatRate } from "../support/stats.js";

const RECORDS = Number(process.argv[2] ?? 200_000);
const BROKERS = process.env.BENCH_BROKERS ?? "127.0.0.1:9092";
const PARTITIONS = 3;
const BATCH = 500;
const LIBRDKAFKA_DEFAULT_BACKOFF_MS = 1000;

async function readAll(
  topic: string,
  backoffMs: number | undefined,
): Promise<{ rate: number; cpuUs: number }> {
  const factory = new ConsumerFactory(
    { "bootstrap.servers": BROKERS },
    `bench-catch-up-${randomBytes(4).toString("hex")}`,
  );
  // undefined: the reader exactly as pa builds it; a number: the same reader with that back-off.
  const consumer = factory.consumer(
    "catchUp",
    backoffMs === undefined ? {} : { "fetch.queue.backoff.ms": backoffMs },
  );
  consumer.setDefaultConsumeTimeout(200);
  consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
  await connectConsumer(consumer);
  const reader = new PartitionReader(topic, consumer);
  reader.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, offset: 0 })));
  const cpuBefore = cpuSeconds(process.pid);
  const started = performance.now();
  let read = 0;
  while (read < RECORDS) read += (await reader.read(BATCH)).length;
  const seconds = (performance.now() - started) / 1000;
  const cpuUs = ((cpuSeconds(process.pid) - cpuBefore) * 1e6) / read;
  await reader.close();
  return { rate: read / seconds, cpuUs };
}

const bench = new BenchKafka(BROKERS);
const children = new Children();
await bench.connect();
const topic = `bench.catch-up-read.${randomBytes(3).toString("hex")}`;
try {
  await bench.createTopics([topic], PARTITIONS);
  await bench.preload(topic, RECORDS, 7);
  const kcat = await kcatDrain(BROKERS, topic, children);
  const kcatRate = kcat.count / (kcat.wallMs / 1000);
  console.log(`kcat                                   ${formatRate(kcatRate)}`);
  for (const [label, backoff] of [
    [`librdkafka's default back-off (${LIBRDKAFKA_DEFAULT_BACKOFF_MS} ms)`, LIBRDKAFKA_DEFAULT_BACKOFF_MS],
    ["pa's reader as built", undefined],
  ] as const) {
    const { rate, cpuUs } = await readAll(topic, backoff);
    console.log(
      `${label.padEnd(38)} ${formatRate(rate)} (${((100 * rate) / kcatRate).toFixed(1)} % of kcat), ${cpuUs.toFixed(1)} µs CPU/record`,
    );
  }
} finally {
  await bench.deleteCreatedTopics();
  await bench.disconnect();
  children.signalAll("SIGTERM");
}
