// pa as users start it: with AUTH_MODE=none it refuses every address but loopback unless
// ALLOW_INSECURE says so, and a bad AUTH_TOKENS_FILE stops it before it listens; both exit 2.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, inject, it } from "vitest";
import { waitUntil } from "../support/streams.js";

const bootstrap = inject("kafkaBootstrap");
const root = fileURLToPath(new URL("../..", import.meta.url));

function startMain(env: Record<string, string>) {
  let output = "";
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? "",
      LOG_FORMAT: "json",
      KAFKA_BROKERS: bootstrap,
      KAFKA_TOPIC: "",
      KAFKA_GROUP_ID: `test-secure-default-${Date.now()}`,
      DATA_DIR: mkdtempSync(join(tmpdir(), "pa-secure-default-")),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, exited, output: () => output };
}

describe("the secure default", () => {
  it("exits 2 with AUTH_MODE=none on 0.0.0.0, naming GRPC_HOST and ALLOW_INSECURE", async () => {
    const pa = startMain({ GRPC_HOST: "0.0.0.0", GRPC_PORT: "0" });
    expect(await pa.exited).toBe(2);
    expect(pa.output()).toMatch(/GRPC_HOST: "0.0.0.0" is not a loopback address/);
    expect(pa.output()).toContain("ALLOW_INSECURE=true");
  });

  it("starts on 0.0.0.0 when ALLOW_INSECURE=true says so", async () => {
    const port = 50_000 + Math.floor(Math.random() * 5_000);
    const pa = startMain({ GRPC_HOST: "0.0.0.0", GRPC_PORT: String(port), ALLOW_INSECURE: "true" });
    try {
      await waitUntil(
        async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status === 200,
        30_000,
        pa.output,
      );
      expect(pa.output()).toContain(`pa listening on http://0.0.0.0:${port}`);
      expect(pa.output()).toContain("ALLOW_INSECURE=true: whoever reaches 0.0.0.0");
    } finally {
      pa.child.kill("SIGTERM");
      expect(await pa.exited, pa.output()).toBe(0);
    }
  });

  it("exits 2 on a tokens file that is not valid, saying which entry is wrong", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "pa-bad-tokens-")), "tokens.yaml");
    writeFileSync(path, "- name: ci\n  sha256: 1234\n  scope: read:*\n");
    const pa = startMain({
      AUTH_MODE: "token",
      AUTH_TOKENS_FILE: path,
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: "0",
    });
    expect(await pa.exited).toBe(2);
    expect(pa.output()).toMatch(/AUTH_TOKENS_FILE: .*tokens.yaml must be a list/);
    expect(pa.output()).toMatch(/entry 0/);
  });
});
