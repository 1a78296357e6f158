// `npx tsx bench/micro/header-cost.ts [records]`: what one Kafka header costs a consumer that never
// reads it. @confluentinc/kafka-javascript (1.10) converts every consumed message to a JS object in
// C++ (src/common.cc, Conversion::Message::ToV8Object): for each header an object, its key string
// and a Buffer copy of its value, in an array, whether or not anyone reads them; no config key or
// consume option skips that (the include_headers flag exists only for delivery reports). Two fresh
// topics of the same payments, without and with one header each, are read to their end the way
// pa's pooled consumer reads (consume(2000) in a loop); the process's CPU per record, and its
// main thread's, are compared. The topics are deleted afterwards.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import kafka, { type KafkaConsumer } from "@confluentinc/kafka-javascript";
import { BenchKafka } from "../support/kafka.js";
import { CLOCK_TICKS, cpuSeconds } from "../support/proc.js";

const RECORDS = Number(process.argv[2] ?? 200_000);
const BROKERS = process.env.BENCH_BROKERS ?? "127.0.0.1:9092";
const HEADER = { "x-request-id": "4bf92f3577b34da6a3ce929d0e0e4736" };

function mainThreadCpuSeconds(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

async function readAll(topic: string, partitions: number): Promise<{ process: number; main: number }> {
  const consumer = new kafka.KafkaConsumer(
    {
      "bootstrap.servers": BROKERS,
      "group.id": `bench-header-cost-${randomBytes(4).toString("hex")}`,
      "enable.auto.commit": false,
      "enable.partition.eof": false,
      "fetch.wait.max.ms": 100,
      "queued.max.messages.kbytes": 16384,
    } as never,
    {},
  ) as KafkaConsumer & { setDefaultIsTimeoutOnlyForFirstMessage(value: boolean): void };
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 10_000 }, (error) => (error ? reject(error) : resolve())),
  );
  consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
  consumer.setDefaultConsumeTimeout(200);
  consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })));
  const processBefore = cpuSeconds(process.pid);
  const mainBefore = mainThreadCpuSeconds();
  let read = 0;
  let headers = 0;
  while (read < RECORDS) {
    const batch = await new Promise<kafka.Message[]>((resolve, reject) =>
      consumer.consume(2000, (error, messages) => (error ? reject(error) : resolve(messages))),
    );
    read += batch.length;
    // Touch what pa touches: the value; headers only to count them (no reading of their content).
    for (const message of batch) if (message.headers) headers++;
  }
  const used = {
    process: cpuSeconds(process.pid) - processBefore,
    main: mainThreadCpuSeconds() - mainBefore,
  };
  await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  console.log(`  ${topic}: ${read} records, ${headers} with headers`);
  return used;
}

const bench = new BenchKafka(BROKERS);
await bench.connect();
const run = randomBytes(3).toString("hex");
const plain = `bench.header-cost.${run}.plain`;
const withHeader = `bench.header-cost.${run}.header`;
try {
  await bench.createTopics([plain, withHeader]);
  await bench.preload(plain, RECORDS, 5);
  await bench.preload(withHeader, RECORDS, 5, 1000, HEADER);
  const results: [string, { process: number; main: number }][] = [];
  // Twice each, alternating, so that neither reads with a colder process than the other.
  for (const round of [1, 2]) {
    for (const [label, topic] of [
      ["no header", plain],
      ["one header", withHeader],
    ] as const) {
      results.push([`${label} (round ${round})`, await readAll(topic, 3)]);
    }
  }
  for (const [label, used] of results) {
    console.log(
      `${label.padEnd(22)} process ${((used.process * 1e6) / RECORDS).toFixed(2)} µs/record, main thread ${((used.main * 1e6) / RECORDS).toFixed(2)} µs/record`,
    );
  }
} finally {
  await bench.deleteCreatedTopics();
  await bench.disconnect();
}
