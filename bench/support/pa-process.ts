// Runs pa as a separate process, as in production, so the benchmark's clients never share its
// event loop: the compiled build that `npm start` and the Docker image run (`node
// dist/server/main.js`, built once per run by `npm run build`), started directly from
// process.execPath, so the child's pid is pa's own node process and its /proc readings are pa's.
// Running the TypeScript sources under tsx instead measured tsx: its loader thread (about 40 MB of
// RSS) and the helper it wraps around every function created at run time.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Children, exited, terminate } from "./children.js";
import { type ProcStatus, procStatus } from "./proc.js";
import { V8_POOL_SIZE } from "./threads.js";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface PaOptions {
  brokers: string;
  /** A consumer group no one used before, so pa processes its topics from the start. */
  groupId: string;
  children: Children;
  /** More environment for pa (e.g. limits), over the benchmark's defaults. */
  env?: Record<string, string>;
  /** Write V8 CPU profiles of pa (node --cpu-prof) under this folder when it exits. */
  cpuProfileDir?: string | undefined;
  /** The pa checkout to run (its server/main.ts); this repository by default. */
  paDir?: string | undefined;
}

const READY_TIMEOUT_MS = 60_000;
// The checkouts whose dist/ this benchmark process has built: once each, before its first pa.
const built = new Set<string>();

/** Compiles the checkout at `paDir` to dist/ (npm run build), once per benchmark process. */
function ensureBuilt(paDir: string): void {
  if (built.has(paDir)) return;
  execFileSync("npm", ["run", "--silent", "build"], { cwd: paDir, stdio: ["ignore", "ignore", "inherit"] });
  built.add(paDir);
}
/** The libuv threadpool pa runs with (see server/kafka/threadpool.ts), unless options.env says otherwise. */
export const PA_UV_THREADPOOL_SIZE = 16;
const LOG_TAIL_LINES = 40;

export class PaProcess {
  private readonly tail: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly dataDir: string,
  ) {
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line) continue;
        this.tail.push(line);
        if (this.tail.length > LOG_TAIL_LINES) this.tail.shift();
      }
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    if (process.env.BENCH_PA_STDERR) child.stderr?.pipe(process.stderr);
  }

  /** Starts pa on a free port and resolves once GET /readyz answers 200 (Kafka connected). */
  static async start(options: PaOptions): Promise<PaProcess> {
    const port = await freePort();
    // Its own embedded store, fresh and removed afterwards: never the checkout's ./data, which a
    // developer's pa may be using, and no payments left over from an earlier run.
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "pa-bench-"));
    // One folder per pa process: node writes a profile per thread (main and tsx's loader thread).
    const nodeArgs = [
      // node's default, made explicit: bench/support/threads.ts counts on it to tell threads apart.
      `--v8-pool-size=${V8_POOL_SIZE}`,
      ...(options.cpuProfileDir
        ? ["--cpu-prof", `--cpu-prof-dir=${path.join(options.cpuProfileDir, options.groupId)}`]
        : []),
    ];
    const paDir = options.paDir ?? REPO_ROOT;
    ensureBuilt(paDir);
    const child = spawn(process.execPath, [...nodeArgs, "--enable-source-maps", "dist/server/main.js"], {
      cwd: paDir,
      env: {
        ...process.env,
        GRPC_HOST: "127.0.0.1",
        GRPC_PORT: String(port),
        KAFKA_BROKERS: options.brokers,
        KAFKA_GROUP_ID: options.groupId,
        // Set but empty: no pinned topics, every topic is consumed on demand, and processed (stored,
        // dead-lettered, committed) as a pinned one would be.
        KAFKA_TOPIC: "",
        TOPIC_ALLOWLIST: "*",
        PROCESS_TOPICS: "*",
        LOG_LEVEL: "warn",
        // See server/kafka/threadpool.ts.
        UV_THREADPOOL_SIZE: String(PA_UV_THREADPOOL_SIZE),
        LOG_FORMAT: "json",
        DATA_DIR: dataDir,
        // Empty counts as unset: the default embedded store, never a shared PostgreSQL.
        DATABASE_URL: "",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    options.children.add(child);
    const pa = new PaProcess(child, port, dataDir);
    try {
      await pa.waitReady();
    } catch (error) {
      await terminate(child);
      pa.removeData();
      throw error;
    }
    return pa;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** pa's resident memory and thread count now. */
  status(): ProcStatus {
    return procStatus(this.pid);
  }

  /** pa's last log lines, for error messages. */
  logTail(): string {
    return this.tail.join("\n");
  }

  /** SIGTERM and wait for pa to exit; throws if it did not exit cleanly. */
  async stop(): Promise<void> {
    const wasRunning = this.running;
    const code = await terminate(this.child);
    this.removeData();
    if (!wasRunning || code !== 0) {
      throw new Error(
        `pa (pid ${this.pid}) ${wasRunning ? `exited with ${code} on SIGTERM` : `had already exited (${code})`}; last log lines:\n${this.logTail()}`,
      );
    }
  }

  private removeData(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async waitReady(): Promise<void> {
    const deadline = performance.now() + READY_TIMEOUT_MS;
    const gone = exited(this.child);
    let lastProblem = "no answer yet";
    while (performance.now() < deadline) {
      if (!this.running) {
        throw new Error(`pa exited during start-up (${await gone}); last log lines:\n${this.logTail()}`);
      }
      try {
        const response = await fetch(`${this.baseUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
        const body = await response.text();
        if (response.status === 200) return;
        lastProblem = `${response.status} ${body}`;
      } catch (error) {
        lastProblem = String(error);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(
      `pa did not become ready within ${READY_TIMEOUT_MS / 1000} s (${lastProblem}); last log lines:\n${this.logTail()}`,
    );
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
