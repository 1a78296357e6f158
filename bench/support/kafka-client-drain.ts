// The Kafka client alone: @confluentinc/kafka-javascript reading a topic to its end as pa's live
// feed reads (a consumer with pa's "pooled" settings, consume(2000) in a loop), doing nothing with
// a record but look whether it has headers. What every record costs before pa does anything with
// it, so the floor under pa's delivery path: the package converts each message to a JS object in
// C++ (src/common.cc, Conversion::Message::ToV8Object), and no setting skips that.
//
// `clientAloneDrain` runs it in a process of its own, so that its CPU is the client's alone (the
// benchmark's process holds its own clients, workers and producer); `drainWithKafkaClient` is the
// read itself, for a process that has nothing else to do (bench/micro/header-cost.ts).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConsumerFactory, connectConsumer, disconnectConsumer } from "../../server/kafka/consumer-factory.js";
import type { Children } from "./children.js";
import { CLOCK_TICKS, cpuSeconds } from "./proc.js";

export interface ClientDrain {
  records: number;
  /** Records that carried at least one header. */
  withHeaders: number;
  /** From the first consume call to the last record. */
  wallMs: number;
  /** The process's user+system CPU seconds over the read: every thread (main, librdkafka, pool). */
  processCpuSeconds: number;
  /** The main thread's share: where the package converts every message. */
  mainCpuSeconds: number;
}

const BATCH = 2000;
const READ_WAIT_MS = 200;
const STALL_MS = 10_000;

function mainThreadCpuSeconds(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Reads `topic`'s first `records` records (from offset 0 of each of its `partitions`) in this process. */
export async function drainWithKafkaClient(
  brokers: string,
  topic: string,
  partitions: number,
  records: number,
): Promise<ClientDrain> {
  const factory = new ConsumerFactory({ "bootstrap.servers": brokers }, `bench-client-alone-${process.pid}`);
  const consumer = factory.consumer("pooled");
  await connectConsumer(consumer);
  try {
    consumer.setDefaultConsumeTimeout(READ_WAIT_MS);
    consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
    consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })));
    const processBefore = cpuSeconds(process.pid);
    const mainBefore = mainThreadCpuSeconds();
    const started = performance.now();
    let read = 0;
    let withHeaders = 0;
    let lastAt = started;
    while (read < records) {
      const batch = await new Promise<{ headers?: unknown }[]>((resolve, reject) =>
        consumer.consume(BATCH, (error, messages) => (error ? reject(error) : resolve(messages))),
      );
      if (batch.length === 0) {
        // A topic shorter than asked for (or a broker gone) must fail the run, not hang it.
        if (performance.now() - lastAt > STALL_MS) {
          throw new Error(
            `the Kafka client alone read ${read} of ${records} records of ${topic}, then nothing for ${STALL_MS / 1000} s`,
          );
        }
        continue;
      }
      lastAt = performance.now();
      read += batch.length;
      for (const message of batch) if (message.headers) withHeaders++;
    }
    return {
      records: read,
      withHeaders,
      wallMs: lastAt - started,
      processCpuSeconds: cpuSeconds(process.pid) - processBefore,
      mainCpuSeconds: mainThreadCpuSeconds() - mainBefore,
    };
  } finally {
    await disconnectConsumer(consumer);
  }
}

const thisFile = fileURLToPath(import.meta.url);

/** drainWithKafkaClient in a child process of its own (run under tsx, as the benchmark is). */
export async function clientAloneDrain(
  brokers: string,
  topic: string,
  partitions: number,
  records: number,
  children: Children,
): Promise<ClientDrain> {
  const child = children.add(
    spawn(
      process.execPath,
      ["--import", "tsx", thisFile, brokers, topic, String(partitions), String(records)],
      { stdio: ["ignore", "pipe", "pipe"] },
    ),
  );
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-4000);
  });
  // "close", not "exit": stdout may still hold the result when the process has exited.
  const status = await new Promise<number | string>((resolve) =>
    child.once("close", (code, signal) => resolve(code ?? signal ?? -1)),
  );
  if (status !== 0) {
    throw new Error(`the Kafka client alone exited with ${status} reading ${topic}: ${stderr}`);
  }
  return JSON.parse(stdout) as ClientDrain;
}

if (process.argv[1] === thisFile) {
  const [brokers, topic, partitions, records] = process.argv.slice(2);
  if (!brokers || !topic) throw new Error("usage: kafka-client-drain.ts BROKERS TOPIC PARTITIONS RECORDS");
  const drain = await drainWithKafkaClient(brokers, topic, Number(partitions), Number(records));
  process.stdout.write(JSON.stringify(drain));
}
