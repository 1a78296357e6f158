import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
// A port of its own, so the broker every other test uses is not touched.
const port = "19092";
const env = { ...process.env, KAFKA_PORT: port };

async function kafkaScript(command: "up" | "down" | "status") {
  return run("bash", ["scripts/kafka.sh", command], { cwd: root, env, timeout: 180_000 });
}

function brokerPid(): number {
  return Number(readFileSync(`${root}/.cache/kafka/broker-${port}/kafka.pid`, "utf8"));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("scripts/kafka.sh (npm run kafka:up / kafka:down)", () => {
  it("starts one broker, reuses it when run twice, and stops it leaving no java process", async () => {
    try {
      const first = await kafkaScript("up");
      expect(first.stdout).toContain(`bootstrap: 127.0.0.1:${port}`);
      const pid = brokerPid();
      const second = await kafkaScript("up");
      expect(second.stdout).toContain(`already running (pid ${pid})`);

      const { stdout } = await run("kcat", ["-b", `127.0.0.1:${port}`, "-L", "-m", "5"]);
      expect(stdout).toMatch(/ 1 brokers:/);
      expect(stdout).toContain(`broker 1 at 127.0.0.1:${port}`);

      const down = await kafkaScript("down");
      expect(down.stdout).toContain("stopped");
      expect(isAlive(pid)).toBe(false);
      const { stdout: java } = await run("bash", [
        "-c",
        `pgrep -af '[k]afka.Kafka .*broker-${port}' || true`,
      ]);
      expect(java.trim()).toBe("");
      await expect(kafkaScript("status")).rejects.toMatchObject({
        stdout: expect.stringContaining("not running"),
      });
    } finally {
      await kafkaScript("down").catch(() => {});
    }
  }, 240_000);
});
