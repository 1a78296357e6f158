// `npm run bench [-- scenario ...] [--size options]`: runs pa's benchmark scenarios against the
// local broker, each beside a kcat baseline measured in the same run, and ends with one markdown
// table, also written to bench/results/latest.md. Benchmarks print; they fail only when events
// were lost (exit code 1).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { burst } from "./burst.js";
import { dashboard } from "./dashboard.js";
import { dlq } from "./dlq.js";
import { fanOut, fanOutFiltered } from "./fan-out.js";
import { fuzz } from "./fuzz.js";
import { latency } from "./latency.js";
import { DEFAULT_STORE_QUERIES, DEFAULT_STORE_ROWS, store } from "./store.js";
import { Children } from "./support/children.js";
import { BenchKafka } from "./support/kafka.js";
import { REPO_ROOT } from "./support/pa-process.js";
import { renderReport, type ScenarioOutcome } from "./support/report.js";
import type { BenchContext, Scenario, Sizes } from "./support/scenario.js";
import { throughput } from "./throughput.js";
import { topics } from "./topics.js";

const SCENARIOS: Scenario[] = [
  throughput,
  burst,
  latency,
  fanOut,
  fanOutFiltered,
  topics,
  store,
  dlq,
  dashboard,
  fuzz,
];

// Each size: its flag, its environment variable, its default.
const SIZE_OPTIONS = {
  messages: {
    env: "BENCH_MESSAGES",
    default: 200_000,
    help: "throughput: payments preloaded and read; burst: payments produced",
  },
  rate: { env: "BENCH_RATE", default: 1_000, help: "latency: produce rate, msg/s" },
  seconds: { env: "BENCH_SECONDS", default: 10, help: "latency and fan-out: seconds of producing" },
  streams: { env: "BENCH_STREAMS", default: 500, help: "fan-out: concurrent streams on one topic" },
  connections: { env: "BENCH_CONNECTIONS", default: 10, help: "fan-out: HTTP/2 connections they share" },
  "fan-out-rate": { env: "BENCH_FAN_OUT_RATE", default: 100, help: "fan-out: produce rate, msg/s" },
  topics: { env: "BENCH_TOPICS", default: 200, help: "topics: active topics, one stream each" },
  rows: { env: "BENCH_ROWS", default: DEFAULT_STORE_ROWS, help: "store: payments stored on each engine" },
  queries: {
    env: "BENCH_QUERIES",
    default: DEFAULT_STORE_QUERIES,
    help: "store: timed calls per query kind",
  },
  letters: { env: "BENCH_LETTERS", default: 50_000, help: "dlq: poison records dead-lettered and listed" },
  requests: { env: "BENCH_REQUESTS", default: 100_000, help: "fuzz: random and mutated requests sent" },
} as const;

type SizeName = keyof typeof SIZE_OPTIONS;

function usage(): string {
  const option = (flag: string, help: string) => `  ${flag.padEnd(20)}${help}`;
  return [
    "usage: npm run bench -- [scenario ...] [options]",
    "",
    `scenarios (default: all, in this order): ${SCENARIOS.map((s) => s.name).join(", ")}`,
    "",
    ...Object.entries(SIZE_OPTIONS).map(([name, o]) =>
      option(`--${name}=N`, `${o.help} (env ${o.env}, default ${o.default})`),
    ),
    option("--brokers=LIST", "bootstrap servers (env BENCH_BROKERS, default 127.0.0.1:9092)"),
    option("--note=TEXT", "conditions to record under the table (env BENCH_NOTE)"),
    option("--pa-dir=PATH", "benchmark the pa checkout at PATH, e.g. a branch (env BENCH_PA_DIR)"),
    option("--cpu-prof", "run pa with node --cpu-prof; profiles go to bench/results/profiles/"),
    option("--keep-topics", "do not delete the run's topics afterwards"),
    option("--help", "this text"),
  ].join("\n");
}

function parse() {
  const { values, positionals, tokens } = parseArgs({
    allowPositionals: true,
    tokens: true,
    options: {
      ...Object.fromEntries(Object.keys(SIZE_OPTIONS).map((name) => [name, { type: "string" as const }])),
      brokers: { type: "string" },
      note: { type: "string" },
      "pa-dir": { type: "string" },
      "cpu-prof": { type: "boolean" },
      "keep-topics": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(usage());
    process.exit(0);
  }
  const unknown = positionals.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) throw new UsageError(`unknown scenario ${unknown.join(", ")}`);
  const chosen = positionals.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => positionals.includes(s.name));

  const size = (name: SizeName): number => {
    const option = SIZE_OPTIONS[name];
    const raw = (values as Record<string, unknown>)[name] ?? process.env[option.env];
    if (raw === undefined || raw === "") return option.default;
    const value = Number(String(raw).replaceAll("_", ""));
    if (!Number.isInteger(value) || value <= 0) {
      throw new UsageError(
        `--${name} (${option.env}) must be a positive whole number, not ${JSON.stringify(raw)}`,
      );
    }
    return value;
  };
  const sizes: Sizes = {
    messages: size("messages"),
    rate: size("rate"),
    seconds: size("seconds"),
    streams: size("streams"),
    connections: size("connections"),
    fanOutRate: size("fan-out-rate"),
    topics: size("topics"),
    rows: size("rows"),
    queries: size("queries"),
    letters: size("letters"),
    requests: size("requests"),
  };
  const brokers = String(values.brokers ?? process.env.BENCH_BROKERS ?? "127.0.0.1:9092");
  const note = (values.note as string | undefined) ?? process.env.BENCH_NOTE;
  const paDir = (values["pa-dir"] as string | undefined) ?? process.env.BENCH_PA_DIR;
  return {
    chosen,
    sizes,
    brokers,
    note: note || undefined,
    paDir: paDir ? path.resolve(paDir) : undefined,
    cpuProf: Boolean(values["cpu-prof"]),
    keepTopics: Boolean(values["keep-topics"]),
    command: commandLine(tokens),
  };
}

class UsageError extends Error {}

type ArgToken = NonNullable<ReturnType<typeof parseArgs>["tokens"]>[number];

/**
 * The command as a reader would type it again: BENCH_* variables, npm run bench and its arguments;
 * the note is left out (the report prints it as the run's conditions).
 */
function commandLine(tokens: ArgToken[]): string {
  const quote = (text: string) => (/[\s"'$]/.test(text) ? JSON.stringify(text) : text);
  const env = Object.entries(process.env)
    .filter(([name, value]) => name.startsWith("BENCH_") && name !== "BENCH_NOTE" && value)
    .map(([name, value = ""]) => `${name}=${quote(value)}`);
  const args = tokens.flatMap((token) => {
    if (token.kind === "positional") return [quote(token.value)];
    if (token.kind !== "option" || token.name === "note") return [];
    if (token.value === undefined) return [token.rawName];
    return token.inlineValue
      ? [`${token.rawName}=${quote(token.value)}`]
      : [token.rawName, quote(token.value)];
  });
  return [...env, "npm run bench", ...(args.length > 0 ? ["--", ...args] : [])].join(" ");
}

function ensureBroker(brokers: string): void {
  const answers = () => {
    try {
      execFileSync("kcat", ["-b", brokers, "-L", "-m", "5"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  };
  if (answers()) return;
  if (brokers !== "127.0.0.1:9092") throw new Error(`no Kafka broker answers at ${brokers}`);
  console.log("[bench] no broker at 127.0.0.1:9092: starting the local one (npm run kafka:down stops it)");
  execFileSync("bash", [path.join(REPO_ROOT, "scripts/kafka.sh"), "up"], { stdio: "inherit" });
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parse>;
  try {
    options = parse();
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`bench: ${(error as Error).message}\n\n${usage()}`);
      return 2;
    }
    throw error;
  }
  const startedAt = new Date();
  const loadAtStart = os.loadavg()[0] ?? 0;
  const command = options.command;
  ensureBroker(options.brokers);

  const children = new Children();
  const stopChildren = (signal: NodeJS.Signals) => {
    console.error(`\n[bench] ${signal}: stopping pa and kcat`);
    children.signalAll("SIGTERM");
    const check = setInterval(() => {
      if (children.count === 0) process.exit(130);
    }, 100);
    setTimeout(() => {
      children.signalAll("SIGKILL");
      clearInterval(check);
      process.exit(130);
    }, 25_000).unref();
  };
  process.once("SIGINT", stopChildren);
  process.once("SIGTERM", stopChildren);

  const resultsDir = path.join(REPO_ROOT, "bench/results");
  const cpuProfileDir = options.cpuProf ? path.join(resultsDir, "profiles") : undefined;
  if (cpuProfileDir) mkdirSync(cpuProfileDir, { recursive: true });

  const kafka = new BenchKafka(options.brokers);
  await kafka.connect();
  const runId = `${startedAt.getTime().toString(36)}${randomBytes(2).toString("hex")}`;
  console.log(`[bench] run ${runId}: ${options.chosen.map((s) => s.name).join(", ")} on ${options.brokers}`);

  const outcomes: ScenarioOutcome[] = [];
  for (const scenario of options.chosen) {
    const log = (line: string) => console.log(`[${scenario.name}] ${line}`);
    const context: BenchContext = {
      brokers: options.brokers,
      runId,
      kafka,
      children,
      sizes: options.sizes,
      pa: { brokers: options.brokers, children, cpuProfileDir, paDir: options.paDir },
      log,
    };
    console.log(`\n[${scenario.name}] ${scenario.title}`);
    const started = performance.now();
    const outcome: ScenarioOutcome = {
      name: scenario.name,
      title: scenario.title,
      rows: [],
      notes: [],
      seconds: 0,
    };
    try {
      const result = await scenario.run(context);
      outcome.rows = result.rows;
      outcome.notes = result.notes ?? [];
    } catch (error) {
      outcome.failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      console.error(`[${scenario.name}] FAILED: ${outcome.failure}`);
    } finally {
      if (!options.keepTopics) {
        await kafka
          .deleteCreatedTopics()
          .catch((error: unknown) => log(`could not delete topics: ${String(error)}`));
      }
    }
    outcome.seconds = (performance.now() - started) / 1000;
    log(`done in ${outcome.seconds.toFixed(1)} s`);
    outcomes.push(outcome);
  }
  await kafka.disconnect();

  const report = renderReport(outcomes, {
    loadAverages: [loadAtStart, os.loadavg()[0] ?? 0],
    command,
    startedAt,
    brokers: options.brokers,
    note: options.note,
    paDir: options.paDir,
  });
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(path.join(resultsDir, "latest.md"), report);
  console.log(`\n${report}`);
  console.log(`[bench] table written to ${path.relative(process.cwd(), path.join(resultsDir, "latest.md"))}`);
  const failed = outcomes.filter((o) => o.failure);
  if (failed.length > 0) {
    console.error(`[bench] FAILED: ${failed.map((o) => o.name).join(", ")}`);
    return 1;
  }
  return 0;
}

process.exit(await main());
