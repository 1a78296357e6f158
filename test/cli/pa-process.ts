// pa as users run it, in its own process (`node --import tsx server/main.ts`), so that a test can
// stop it with SIGTERM and start it again on the same port and DATA_DIR.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { waitUntil } from "../support/streams.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface PaProcess {
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/** Starts pa with these variables and resolves once /readyz says it is ready. */
export async function startPaProcess(port: number, env: Record<string, string>): Promise<PaProcess> {
  let output = "";
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? "",
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: String(port),
      STREAM_LINGER: "500ms",
      SHUTDOWN_TIMEOUT: "5s",
      // Ad-hoc topics, processed as pinned ones are (see test/support/pa.ts).
      TOPIC_ALLOWLIST: "*",
      PROCESS_TOPICS: "*",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = once(child, "exit").then(([code]) => code as number | null);
  await waitUntil(
    async () => {
      if (child.exitCode !== null)
        throw new Error(`pa exited (${child.exitCode}) while starting:\n${output}`);
      try {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`);
        return response.status === 200;
      } catch {
        return false;
      }
    },
    90_000,
    () => `pa ready on ${port}\n${output}`,
  );
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
