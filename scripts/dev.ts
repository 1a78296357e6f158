// `npm run dev`: everything a newcomer needs to see pa work, in one command. Starts the local Kafka
// broker (or reuses the running one), creates the PoC's topics, runs pa with its log in this terminal,
// trickles demo payments (and now and then a poison record) into the topics, and says where to look.
// Ctrl-C stops what this run started: the producer, pa, and the broker only if it was not running.
//
// GRPC_PORT (default 50051) picks pa's port and KAFKA_PORT (default 9092) the broker's; other pa
// variables (see server/config/config.ts) pass through to pa. The dashboard is built into web/dist
// (pa serves it at "/") and also served with hot reload by Vite on WEB_PORT (default 5173).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { styleText } from "node:util";
import { KafkaJS } from "@confluentinc/kafka-javascript";
import { build as buildWeb, createServer as createWebServer, type ViteDevServer } from "vite";
import { type DemoProducer, startDemoProducer } from "../server/demo/demo-producer.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const TOPICS = [
  "poc.kafka.go.side.car.payments",
  "poc.kafka.go.side.car.orders",
  "poc.kafka.go.side.car.users",
];
const PARTITIONS = 3;
const DEMO_RATE_PER_SECOND = 4;
const DEMO_POISON_EVERY = 40;
const READY_TIMEOUT_MS = 60_000;
// pa forces its own exit SHUTDOWN_TIMEOUT (10 s by default) + 5 s after SIGTERM; this is the backstop.
const PA_STOP_TIMEOUT_MS = 30_000;

const env = process.env;
const stdoutColour = Boolean(process.stdout.isTTY) && !env.NO_COLOR;
const stderrColour = Boolean(process.stderr.isTTY) && !env.NO_COLOR;
type Style = Parameters<typeof styleText>[0];
const paint = (on: boolean, style: Style, text: string) => (on ? styleText(style, text) : text);
const say = (text: string) => process.stdout.write(`${paint(stdoutColour, "cyan", "[dev]")} ${text}\n`);
const warn = (text: string) => process.stderr.write(`${paint(stderrColour, "yellow", "[dev]")} ${text}\n`);
const fail = (text: string) => process.stderr.write(`${paint(stderrColour, "red", "[dev]")} ${text}\n`);

/** A reason to stop that has been told to the user already; main() exits with its code. */
class Stop extends Error {
  override readonly name = "Stop";
  constructor(readonly exitCode: number) {
    super(`stop (exit ${exitCode})`);
  }
}

function portFrom(name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) {
    fail(`${name} must be a port number from 1 to 65535 (got ${JSON.stringify(raw)})`);
    throw new Stop(2);
  }
  return port;
}

/** Whether nothing listens on the port yet, tried the way pa will bind it. */
function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") resolve(false);
      else reject(error);
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

function onPath(command: string): boolean {
  return (env.PATH ?? "").split(delimiter).some((dir) => dir && existsSync(join(dir, command)));
}

/** Runs scripts/kafka.sh; its output goes to this terminal unless quiet. Resolves to its exit code. */
function kafkaScript(command: "up" | "down" | "status", quiet = false): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn("bash", [join(root, "scripts/kafka.sh"), command], {
      cwd: root,
      stdio: ["ignore", quiet ? "ignore" : "inherit", quiet ? "ignore" : "inherit"],
    });
    child.once("error", (error) => {
      fail(`could not run scripts/kafka.sh: ${error.message}`);
      resolve(127);
    });
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function createTopics(brokers: string): Promise<void> {
  const admin = new KafkaJS.Kafka({
    kafkaJS: { brokers: [brokers], clientId: "pa-dev", logLevel: KafkaJS.logLevel.NOTHING },
  }).admin();
  await admin.connect();
  try {
    // Topics that exist already are left as they are (createTopics resolves false for them).
    const created = await admin.createTopics({
      topics: TOPICS.map((topic) => ({ topic, numPartitions: PARTITIONS })),
      timeout: 15_000,
    });
    say(created ? `created topics ${TOPICS.join(", ")}` : `topics ready: ${TOPICS.join(", ")}`);
  } finally {
    await admin.disconnect();
  }
}

interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function describeExit({ code, signal }: ExitStatus): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

async function waitUntilReady(port: number, paExit: Promise<ExitStatus>, stop: AbortSignal): Promise<void> {
  const start = Date.now();
  let exited: ExitStatus | undefined;
  void paExit.then((status) => {
    exited = status;
  });
  let reasons = "no answer yet";
  let told = false;
  while (Date.now() - start < READY_TIMEOUT_MS) {
    if (stop.aborted) throw new Stop(0);
    if (exited) {
      fail(`pa ${describeExit(exited)} before it was ready; its log is above`);
      throw new Stop(exited.code || 1);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) return;
      const body = (await response.json().catch(() => ({}))) as { reasons?: string[] };
      reasons = body.reasons?.join("; ") || `HTTP ${response.status}`;
    } catch (error) {
      reasons = (error as Error).message;
    }
    if (!told && Date.now() - start > 10_000) {
      say(`still waiting for pa to be ready: ${reasons}`);
      told = true;
    }
    await sleep(250);
  }
  fail(`pa was not ready within ${READY_TIMEOUT_MS / 1000} s: ${reasons}`);
  throw new Stop(1);
}

/** Whether pa serves the dashboard: a built web/dist/index.html that GET / returns as HTML. */
async function dashboardServed(port: number): Promise<boolean> {
  if (!existsSync(join(root, "web/dist/index.html"))) return false;
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.ok && (response.headers.get("content-type") ?? "").includes("text/html");
  } catch {
    return false;
  }
}

/**
 * The dashboard two ways: web/dist built now, which pa serves at its own "/", and Vite's dev server
 * with hot reload, which proxies the RPC paths to this pa (web/vite.config.ts), for working on web/.
 * Neither is needed for pa to run, so a failure is a warning.
 */
async function buildDashboard(): Promise<void> {
  try {
    await buildWeb({
      root: join(root, "web"),
      configFile: join(root, "web/vite.config.ts"),
      logLevel: "warn",
    });
    say("built the dashboard into web/dist");
  } catch (error) {
    warn(`could not build the dashboard (pa runs without it): ${(error as Error).message}`);
  }
}

async function startDashboardDevServer(paPort: number): Promise<ViteDevServer | undefined> {
  process.env.PA_URL = `http://127.0.0.1:${paPort}`;
  try {
    const server = await createWebServer({
      root: join(root, "web"),
      configFile: join(root, "web/vite.config.ts"),
      logLevel: "warn",
      server: { port: portFrom("WEB_PORT", 5173) },
    });
    await server.listen();
    return server;
  } catch (error) {
    warn(`could not start the dashboard's dev server: ${(error as Error).message}`);
    return undefined;
  }
}

async function printWhereToLook(
  port: number,
  producer: DemoProducer,
  brokerNote: string,
  webDevUrl?: string,
): Promise<void> {
  const base = `http://localhost:${port}`;
  const service = `${base}/payment.PaymentService`;
  const json = (message: unknown) => encodeURIComponent(JSON.stringify(message));
  const bold = (text: string) => paint(stdoutColour, "bold", text);
  const dim = (text: string) => paint(stdoutColour, "dim", text);
  const rows: [string, string][] = [
    ["gRPC, gRPC-Web, Connect", `localhost:${port} (plaintext, HTTP/2 and HTTP/1.1)`],
  ];
  if (onPath("grpcurl")) rows.push(["list the services", `grpcurl -plaintext localhost:${port} list`]);
  rows.push(
    ["topics (Connect, POST)", `curl -s -H 'Content-Type: application/json' -d '{}' ${service}/GetTopics`],
    [
      "latest payments (GET)",
      `curl -s '${service}/ListPayments?encoding=json&message=${json({ limit: 5 })}'`,
    ],
  );
  if (producer.firstPaymentId) {
    rows.push([
      "one payment (GET)",
      `curl -s '${service}/GetPayment?encoding=json&message=${json({ payment_id: producer.firstPaymentId })}'`,
    ]);
  }
  rows.push(["readiness", `curl -s ${base}/readyz`]);
  rows.push(
    (await dashboardServed(port))
      ? ["dashboard", `${base}/`]
      : ["dashboard", dim(`not built yet; once it is, it will be at ${base}/`)],
  );
  if (webDevUrl) rows.push(["dashboard, hot reload", `${webDevUrl}?topic=${TOPICS[0]}`]);
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = [
    "",
    bold(`pa is ready on port ${port}, consuming ${TOPICS.join(", ")}.`),
    `Demo payments are flowing (about ${DEMO_RATE_PER_SECOND} a second; 1 in ${DEMO_POISON_EVERY} is a poison record, which pa sends to <topic>.dlq).`,
    "",
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    "",
    `${bold("Ctrl-C stops everything")} (${brokerNote}).`,
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

async function main(): Promise<number> {
  // Ctrl-C reaches every process of the terminal's foreground group. pa runs in a group of its own, so
  // that only this script signals it, once: a second signal would make pa skip its graceful shutdown.
  const stop = new AbortController();
  const stopped = new Promise<void>((resolve) => stop.signal.addEventListener("abort", () => resolve()));
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      say(`${signal} again: still stopping (pa gets at most ${PA_STOP_TIMEOUT_MS / 1000} s)`);
      return;
    }
    process.stdout.write("\n");
    say(`${signal}: stopping`);
    stop.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let startedBroker = false;
  let pa: ChildProcess | undefined;
  let paExit: Promise<ExitStatus> | undefined;
  let producer: DemoProducer | undefined;
  let webDevServer: ViteDevServer | undefined;

  // Last resort if this script dies with an exception: pa is in its own process group and would
  // otherwise outlive it.
  process.once("exit", () => {
    if (pa && pa.exitCode === null && pa.signalCode === null) pa.kill("SIGKILL");
  });

  const cleanUp = async () => {
    await webDevServer?.close();
    if (producer) {
      const sent = producer.sent;
      await Promise.race([producer.stop(), sleep(10_000)]).catch((error: unknown) =>
        warn(`the demo producer did not close cleanly: ${(error as Error).message}`),
      );
      const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
      say(
        `demo producer stopped after ${count(sent.payments, "payment")} and ${count(sent.poison, "poison record")}`,
      );
    }
    if (pa && paExit && pa.exitCode === null && pa.signalCode === null) {
      say("stopping pa");
      pa.kill("SIGTERM");
      const status = await Promise.race([paExit, sleep(PA_STOP_TIMEOUT_MS).then(() => undefined)]);
      if (!status) {
        warn(`pa did not exit within ${PA_STOP_TIMEOUT_MS / 1000} s of SIGTERM; killing it`);
        pa.kill("SIGKILL");
        await paExit;
      }
    }
    if (startedBroker) {
      say("stopping the Kafka broker this run started");
      await kafkaScript("down");
    }
  };

  try {
    const port = portFrom("GRPC_PORT", 50051);
    const brokers = `127.0.0.1:${portFrom("KAFKA_PORT", 9092)}`;
    // pa's own default with AUTH_MODE=none: loopback only (server/config/config.ts).
    const host = env.GRPC_HOST?.trim() || "127.0.0.1";
    if (!(await portFree(port, host))) {
      fail(
        `port ${port} is already in use (another pa or npm run dev?). Stop that process, or pick another ` +
          `port: GRPC_PORT=${port === 50061 ? 50071 : 50061} npm run dev`,
      );
      return 1;
    }

    const wasRunning = (await kafkaScript("status", true)) === 0;
    const upCode = await kafkaScript("up");
    startedBroker = !wasRunning && (await kafkaScript("status", true)) === 0;
    if (stop.signal.aborted) throw new Stop(0);
    if (upCode !== 0) {
      const logs = `${env.KAFKA_PORT ? `KAFKA_PORT=${env.KAFKA_PORT} ` : ""}bash scripts/kafka.sh logs`;
      fail(
        `the local Kafka broker did not start (scripts/kafka.sh up exited with ${upCode}); its output is ` +
          `above, and \`${logs}\` shows the broker's own log`,
      );
      throw new Stop(1);
    }

    try {
      await createTopics(brokers);
    } catch (error) {
      fail(`could not create the topics on ${brokers}: ${(error as Error).message}`);
      throw new Stop(1);
    }
    if (stop.signal.aborted) throw new Stop(0);

    await buildDashboard();
    say(`starting pa on port ${port}`);
    const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
      cwd: root,
      env: {
        ...env,
        KAFKA_BROKERS: brokers,
        KAFKA_TOPIC: TOPICS.join(","),
        GRPC_PORT: String(port),
        LOG_FORMAT: env.LOG_FORMAT || "pretty",
        // See server/kafka/threadpool.ts.
        UV_THREADPOOL_SIZE: env.UV_THREADPOOL_SIZE || "16",
      },
      stdio: ["ignore", "inherit", "inherit"],
      detached: true,
    });
    pa = child;
    paExit = new Promise<ExitStatus>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", (error) => {
        fail(`could not start pa: ${error.message}`);
        resolve({ code: 127, signal: null });
      });
    });

    await waitUntilReady(port, paExit, stop.signal);

    try {
      producer = await startDemoProducer({
        brokers: [brokers],
        topics: TOPICS,
        ratePerSecond: DEMO_RATE_PER_SECOND,
        poisonEvery: DEMO_POISON_EVERY,
        onError: (error) => warn(`the demo producer could not send: ${(error as Error).message}`),
      });
    } catch (error) {
      fail(`could not start the demo producer: ${(error as Error).message}`);
      throw new Stop(1);
    }
    await Promise.race([producer.firstSent, sleep(5_000), stopped]);
    if (stop.signal.aborted) throw new Stop(0);

    const brokerNote = startedBroker
      ? "pa, the demo producer, and the Kafka broker this run started"
      : `pa and the demo producer; the Kafka broker at ${brokers} was already running and keeps running`;
    webDevServer = await startDashboardDevServer(port);
    const webDevUrl = webDevServer?.resolvedUrls?.local[0];
    await printWhereToLook(port, producer, brokerNote, webDevUrl);

    const outcome = await Promise.race([stopped.then(() => undefined), paExit]);
    if (outcome) {
      fail(`pa stopped by itself (it ${describeExit(outcome)}); stopping the rest`);
      throw new Stop(outcome.code || 1);
    }
    return 0;
  } catch (error) {
    if (!(error instanceof Stop)) fail(`unexpected failure: ${(error as Error).stack ?? String(error)}`);
    return error instanceof Stop ? error.exitCode : 1;
  } finally {
    await cleanUp();
  }
}

process.exit(await main());
