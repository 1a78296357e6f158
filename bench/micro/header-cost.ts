// `npx tsx bench/micro/header-cost.ts [records]`: what one Kafka header costs a consumer that never
// reads it. @confluentinc/kafka-javascript (1.10) converts every consumed message to a JS object in
// C++ (src/common.cc, Conversion::Message::ToV8Object): for each header an object, its key string
// and a Buffer copy of its value, in an array, whether or not anyone reads them; no config key or
// consume option skips that (the include_headers flag exists only for delivery reports). Two fresh
// topics of the same payments, without and with one header each, are read to their end the way
// pa's pooled consumer reads (consume(2000) in a loop); the process's CPU per record, and its
// main thread's, are compared. The topics are deleted afterwards.
import { randomBytes } from "node:crypto";
import { BenchKafka } from "../support/kafka.js";
import { drainWithKafkaClient } from "../support/kafka-client-drain.js";

const RECORDS = Number(process.argv[2] ?? 200_000);
const BROKERS = process.env.BENCH_BROKERS ?? "127.0.0.1:9092";
const HEADER = { "x-request-id": "4bf92f3577b34da6a3ce929d0e0e4736" };

async function readAll(topic: string, partitions: number): Promise<{ process: number; main: number }> {
  const drain = await drainWithKafkaClient(BROKERS, topic, partitions, RECORDS);
  console.log(`  ${topic}: ${drain.records} records, ${drain.withHeaders} with headers`);
  return { process: drain.processCpuSeconds, main: drain.mainCpuSeconds };
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
