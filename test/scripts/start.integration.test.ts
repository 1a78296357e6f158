// `npm start` as a supervisor runs it: pa compiled to JavaScript, the dashboard at "/", and a
// SIGTERM sent to the npm process (all a supervisor knows) reaching pa, which stops gracefully
// and gives its port back.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, inject, it } from "vitest";
import { waitUntil } from "../support/streams.js";

const bootstrap = inject("kafkaBootstrap");
const root = fileURLToPath(new URL("../..", import.meta.url));

/** Whether this process can listen on `port` of 127.0.0.1 (nothing else holds it). */
async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  try {
    server.listen(port, "127.0.0.1");
    await once(server, "listening");
    return true;
  } catch {
    return false;
  } finally {
    server.close();
  }
}

const npm = spawn("npm", ["start"], {
  cwd: root,
  env: {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? tmpdir(),
    KAFKA_BROKERS: bootstrap,
    KAFKA_TOPIC: "",
    KAFKA_GROUP_ID: `test-npm-start-${Date.now().toString(36)}`,
    DATA_DIR: mkdtempSync(join(tmpdir(), "pa-npm-start-")),
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: "0",
    LOG_FORMAT: "json",
  },
  stdio: ["ignore", "pipe", "pipe"],
});
let stdout = "";
let stderr = "";
npm.stdout.on("data", (chunk) => {
  stdout += chunk;
});
npm.stderr.on("data", (chunk) => {
  stderr += chunk;
});
afterAll(() => {
  if (npm.exitCode === null) npm.kill("SIGKILL");
});

describe("npm start", () => {
  let port = 0;

  it("runs compiled pa, building it when missing or stale, and serves the dashboard at /", async () => {
    await waitUntil(
      () => /pa listening on http:\/\/127\.0\.0\.1:\d+/.test(stdout) || npm.exitCode !== null,
      110_000,
    );
    expect(npm.exitCode, stderr).toBeNull();
    port = Number(/pa listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1]);
    // Past npm's own "> pa@... start" banner, stdout is pa's JSON log alone: the build wrote to stderr.
    const logLines = stdout.split("\n").filter((line) => line !== "" && !line.startsWith("> "));
    for (const line of logLines) expect(() => JSON.parse(line), line).not.toThrow();

    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain('<div id="app"');
  }, 120_000);

  it("passes a SIGTERM sent to npm on to pa, which stops gracefully and releases the port", async () => {
    expect(await portIsFree(port)).toBe(false);
    npm.kill("SIGTERM");
    const [code] = await once(npm, "exit");
    expect(stdout).toContain("SIGTERM: shutting down");
    expect(stdout).toContain("pa stopped");
    expect(code).toBe(0);
    await waitUntil(() => portIsFree(port), 10_000);
  }, 30_000);
});
