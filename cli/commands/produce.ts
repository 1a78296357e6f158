// `pa-cli produce`: the PoC's producer, its multi-topic blast and its DLQ test in one command.
// Talks to Kafka directly (the same KAFKA_* variables as pa), writes realistic payments in each
// provider's own units and, with --invalid, poison records of every kind pa dead-letters.
import { setTimeout as sleep } from "node:timers/promises";
import { KafkaJS } from "@confluentinc/kafka-javascript";
import { SingleBar } from "cli-progress";
import { type Command, Option } from "commander";
import { ConfigError, loadConfig } from "../../server/config/config.js";
import {
  createPaymentGenerator,
  type GeneratedRecord,
  INVALID_KINDS,
  type InvalidKind,
} from "../../server/demo/payment-generator.js";
import { connectionConfig } from "../../server/kafka/client-config.js";
import { listOf, parseCount, parseDuration, parseRate } from "../arguments.js";
import { CliError, UsageError } from "../cli-errors.js";
import type { GlobalOptions } from "../connection.js";
import { colorsFor } from "../output/colors.js";

interface ProduceOptions {
  topic?: string;
  topics?: string[];
  count: number;
  invalid: number;
  invalidKind?: InvalidKind;
  interval?: number;
  rate?: number;
  seed?: number;
}

/** One record to send and what it is. */
interface Planned {
  topic: string;
  record: GeneratedRecord;
  poison: boolean;
}

interface TopicReport {
  payments: number;
  poison: number;
  failed: number;
  /** Partitions that acknowledged records (a delivery report names partitions, not records). */
  partitions: Set<number>;
}

// Unpaced sends go in batches: one delivery wait per batch instead of per record.
const BATCH_SIZE = 500;
// Paced sends are not awaited one by one; this bounds what may be in flight.
const MAX_IN_FLIGHT = 10_000;
const KAFKA_TIMEOUT_MS = 20_000;

export function registerProduceCommand(program: Command): void {
  program
    .command("produce")
    .description("write realistic payments (and poison records with --invalid) to Kafka topics")
    .option("--topic <topic>", "the topic to write to")
    .addOption(
      new Option("--topics <topics>", "several topics, comma-separated (each gets --count and --invalid)")
        .argParser(listOf((topic: string) => topic))
        .conflicts("topic"),
    )
    .addOption(new Option("--count <n>", "valid payments per topic").argParser(parseCount).default(5))
    .addOption(
      new Option("--invalid <n>", "poison records per topic, for the DLQ").argParser(parseCount).default(0),
    )
    .addOption(
      new Option("--invalid-kind <kind>", "only this kind of poison (default: every kind in turn)").choices(
        INVALID_KINDS,
      ),
    )
    .addOption(
      new Option("--interval <duration>", 'pause between records, e.g. "200ms" or "1s"').argParser(
        parseDuration,
      ),
    )
    .addOption(
      new Option("--rate <n>", "records per second across all topics")
        .argParser(parseRate)
        .conflicts("interval"),
    )
    .addOption(new Option("--seed <n>", "the same seed writes the same records").argParser(parseCount))
    .addHelpText(
      "after",
      `
Kafka settings come from the same variables as pa's (and a .env file): KAFKA_BROKERS,
KAFKA_SSL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD. Without --topic
or --topics, the first topic of KAFKA_TOPIC is used. Amounts are in each provider's own units
(Stripe and Razorpay minor units, PayPal major units) and currencies are ones the provider
accepts: mostly USD, EUR, GBP, INR and JPY, now and then any other on its list (Stripe's ISK
is written 500 for 5 ISK, PayPal's HUF "100" with no decimals).

Examples:
  $ pa-cli produce --topic poc.kafka.go.side.car.payments --count 100
  $ pa-cli produce --topics payments,orders,users --count 1000 --rate 200
  $ pa-cli produce --topic payments --count 0 --invalid ${INVALID_KINDS.length}    # one of each poison kind`,
    )
    .action(async (options: ProduceOptions, command: Command) => {
      await produce(options, command.optsWithGlobals<GlobalOptions>());
    });
}

async function produce(options: ProduceOptions, globals: GlobalOptions): Promise<void> {
  let kafkaConfig: ReturnType<typeof loadConfig>["kafka"];
  try {
    kafkaConfig = loadConfig(process.env, { isTty: false }).kafka;
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  const topics = options.topics ?? (options.topic ? [options.topic] : kafkaConfig.pinnedTopics.slice(0, 1));
  if (topics.length === 0) throw new UsageError("produce needs --topic or --topics (or KAFKA_TOPIC)");
  const total = topics.length * (options.count + options.invalid);
  if (total === 0) throw new UsageError("nothing to produce: --count and --invalid are both 0");
  const gapMs = options.rate ? 1000 / options.rate : (options.interval ?? 0);

  const kafka = new KafkaJS.Kafka({
    ...connectionConfig(kafkaConfig),
    "client.id": "pa-cli",
    kafkaJS: { logLevel: KafkaJS.logLevel.NOTHING },
  } as never);
  await checkTopics(kafka, topics, kafkaConfig.brokers);

  const producer = kafka.producer({ acks: -1, "linger.ms": 5 } as never);
  await withTimeout(producer.connect(), `Kafka not reachable at ${kafkaConfig.brokers}`);

  const generator = createPaymentGenerator(options.seed === undefined ? {} : { seed: options.seed });
  const plan = planRecords(topics, options, generator);
  const reports = new Map<string, TopicReport>(
    topics.map((topic) => [topic, { payments: 0, poison: 0, failed: 0, partitions: new Set<number>() }]),
  );
  const errors = new Map<string, number>();
  const bar =
    process.stderr.isTTY && !globals.json
      ? new SingleBar({
          format: "producing [{bar}] {percentage}% | {value}/{total} records | eta {eta_formatted}",
          hideCursor: true,
          clearOnComplete: true,
          stream: process.stderr,
        })
      : undefined;
  bar?.start(total, 0);
  const stopping = new AbortController();
  const stop = () => stopping.abort();
  process.once("SIGINT", stop);
  const started = Date.now();

  const settle = async (batch: Planned[]) => {
    try {
      const metadata = await producer.send({
        topic: batch[0].topic,
        messages: batch.map(({ record }) => ({ key: record.key, value: record.value })),
      });
      const report = reports.get(batch[0].topic) as TopicReport;
      for (const { poison } of batch) {
        if (poison) report.poison++;
        else report.payments++;
      }
      for (const m of metadata) report.partitions.add(m.partition);
    } catch (error) {
      (reports.get(batch[0].topic) as TopicReport).failed += batch.length;
      const message = (error as Error).message || String(error);
      errors.set(message, (errors.get(message) ?? 0) + batch.length);
    }
    bar?.increment(batch.length);
  };

  try {
    if (gapMs === 0) {
      // Each topic's records in batches; topics in parallel, as the PoC's producer did.
      await Promise.all(
        topics.map(async (topic) => {
          const mine = plan.filter((planned) => planned.topic === topic);
          for (let i = 0; i < mine.length && !stopping.signal.aborted; i += BATCH_SIZE) {
            await settle(mine.slice(i, i + BATCH_SIZE));
          }
        }),
      );
    } else {
      const inFlight = new Set<Promise<void>>();
      for (const planned of plan) {
        if (stopping.signal.aborted) break;
        const sending = settle([planned]).finally(() => inFlight.delete(sending));
        inFlight.add(sending);
        if (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
        try {
          await sleep(gapMs, undefined, { signal: stopping.signal });
        } catch {
          // Ctrl-C while pacing: what was sent is still reported.
        }
      }
      await Promise.all(inFlight);
    }
  } finally {
    process.off("SIGINT", stop);
    bar?.stop();
    await producer.disconnect();
  }
  const seconds = (Date.now() - started) / 1000;
  printSummary(reports, errors, seconds, Boolean(globals.json));
  const failed = [...reports.values()].reduce((sum, report) => sum + report.failed, 0);
  if (failed > 0) throw new CliError(`${failed} of ${total} records were not delivered`);
}

/** Valid payments first, then the poison, per topic (the PoC's order); topics interleaved. */
function planRecords(
  topics: readonly string[],
  options: ProduceOptions,
  generator: ReturnType<typeof createPaymentGenerator>,
): Planned[] {
  const perTopic = topics.map((topic) => [
    ...Array.from({ length: options.count }, () => ({ topic, record: generator.valid(), poison: false })),
    ...Array.from({ length: options.invalid }, () => ({
      topic,
      record: generator.invalid(options.invalidKind),
      poison: true,
    })),
  ]);
  const plan: Planned[] = [];
  for (let i = 0; i < options.count + options.invalid; i++) {
    for (const records of perTopic) plan.push(records[i]);
  }
  return plan;
}

async function checkTopics(kafka: KafkaJS.Kafka, topics: readonly string[], brokers: string): Promise<void> {
  const admin = kafka.admin();
  try {
    await withTimeout(admin.connect(), `Kafka not reachable at ${brokers}`);
    const existing = new Set(
      await withTimeout(admin.listTopics({ timeout: KAFKA_TIMEOUT_MS }), `Kafka not reachable at ${brokers}`),
    );
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      throw new CliError(
        `topic not found: ${missing.join(", ")} on ${brokers}; create it first ` +
          "(e.g. kafka-topics.sh --create --topic NAME --partitions 3), or check KAFKA_BROKERS",
      );
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `Kafka not reachable at ${brokers} (${(error as Error).message}); check KAFKA_BROKERS`,
    );
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function withTimeout<T>(promise: Promise<T>, message: string): Promise<T> {
  const timer = sleep(KAFKA_TIMEOUT_MS, undefined, { ref: false }).then(() => {
    throw new CliError(`${message} (no answer in ${KAFKA_TIMEOUT_MS / 1000}s); check KAFKA_BROKERS`);
  });
  return Promise.race([promise, timer]);
}

function printSummary(
  reports: ReadonlyMap<string, TopicReport>,
  errors: ReadonlyMap<string, number>,
  seconds: number,
  json: boolean,
): void {
  if (json) {
    const topics = Object.fromEntries(
      [...reports].map(([topic, r]) => [
        topic,
        {
          payments: r.payments,
          poison: r.poison,
          failed: r.failed,
          partitions: [...r.partitions].sort((a, b) => a - b),
        },
      ]),
    );
    process.stdout.write(`${JSON.stringify({ topics, errors: Object.fromEntries(errors), seconds })}\n`);
    return;
  }
  const colors = colorsFor(process.stdout);
  let delivered = 0;
  for (const [topic, r] of reports) {
    delivered += r.payments + r.poison;
    const partitions = [...r.partitions].sort((a, b) => a - b).join(", ");
    const failed = r.failed > 0 ? colors.red(`, ${r.failed} failed`) : "";
    process.stdout.write(
      `${colors.bold(topic)}: ${r.payments} payments + ${r.poison} poison delivered${failed} (partitions ${partitions})\n`,
    );
  }
  for (const [message, n] of errors) process.stdout.write(colors.red(`  ${n} × ${message}\n`));
  const rate = seconds > 0 ? Math.round(delivered / seconds) : delivered;
  process.stdout.write(`delivered ${delivered} records in ${seconds.toFixed(1)}s (${rate}/s)\n`);
}
