import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, describe, expect, inject, it } from "vitest";
import type { PaymentEvent } from "../../gen/payment/payment_pb.js";
import { grpcClient, pocClient } from "../support/clients.js";
import { createTopics, produce, uniqueTopic } from "../support/kafka.js";
import { startPa } from "../support/pa.js";
import { waitUntil } from "../support/streams.js";

const bootstrap = inject("kafkaBootstrap");
const root = fileURLToPath(new URL("../..", import.meta.url));

/** pa as users run it: its own process, configured by environment variables. */
function spawnPa(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = "";
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: root,
    // A fresh DATA_DIR: never the checkout's ./data, which a developer's pa may be using.
    env: {
      PATH: process.env.PATH ?? "",
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
      UV_THREADPOOL_SIZE: "16",
      DATA_DIR: mkdtempSync(join(tmpdir(), "pa-main-test-")),
      // Ad-hoc topics, processed as pinned ones are (see test/support/pa.ts).
      TOPIC_ALLOWLIST: "*",
      PROCESS_TOPICS: "*",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  return { child, output: () => output };
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
});

describe("pa as a process", () => {
  it("ends open streams on SIGTERM with UNAVAILABLE and a cursor that resumes them, and exits 0", async () => {
    const topic = uniqueTopic("sigterm");
    await createTopics(bootstrap, [topic]);
    const port = 50_000 + Math.floor(Math.random() * 5_000);
    const { child, output } = spawnPa({
      KAFKA_BROKERS: bootstrap,
      KAFKA_TOPIC: "",
      KAFKA_GROUP_ID: `test-sigterm-${Date.now()}`,
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: String(port),
    });
    children.push(child);
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitUntil(
      async () => (await fetch(`${baseUrl}/readyz`).catch(() => null))?.status === 200,
      30_000,
      output,
    );

    const events: PaymentEvent[] = [];
    let failure: ConnectError | undefined;
    const reading = (async () => {
      try {
        for await (const event of grpcClient(baseUrl).streamPayments({ topic, existingLimit: 0 }))
          events.push(event);
      } catch (error) {
        failure = ConnectError.from(error);
      }
    })();
    await waitUntil(() => output().includes(`Created new consumer for topic: ${topic}`), 20_000, output);
    await produce(bootstrap, topic, [
      {
        key: "pay_t1",
        value: JSON.stringify({ id: "pay_t1", provider: "stripe", amount: 100, currency: "usd" }),
      },
      {
        key: "pay_t2",
        value: JSON.stringify({ id: "pay_t2", provider: "stripe", amount: 200, currency: "usd" }),
      },
    ]);
    await waitUntil(() => events.length === 2);

    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await reading;
    const [code] = await exited;
    expect(code, output()).toBe(0);
    expect(failure?.code).toBe(Code.Unavailable);
    expect(failure?.rawMessage).toMatch(/shutting down.*resume with start_cursor/);
    expect(failure?.metadata.get("pa-resume-cursor")).toBe(events.at(-1)?.cursor);
    expect(output()).toContain("pa stopped");
  });

  it("refuses to start on a bad configuration, naming the variable, with exit code 2", async () => {
    const { child, output } = spawnPa({ GRPC_PORT: "not-a-port", KAFKA_SSL: "perhaps" });
    children.push(child);
    const [code] = await once(child, "exit");
    expect(code).toBe(2);
    expect(output()).toMatch(/GRPC_PORT \(got "not-a-port"\): must be a whole number/);
    expect(output()).toMatch(/KAFKA_SSL \(got "perhaps"\): must be true or false/);
  });
});

describe("the PoC's Node client with its keepalive settings", () => {
  it("keeps an idle stream open for 90 s (the Go PoC sent GOAWAY too_many_pings after about 40 s)", async () => {
    const topic = uniqueTopic("idle");
    await createTopics(bootstrap, [topic]);
    const pa = await startPa(bootstrap);
    const client = pocClient(pa.port);
    try {
      // biome-ignore lint/suspicious/noExplicitAny: the PoC's client is untyped.
      const received: any[] = [];
      const problems: string[] = [];
      const stream = client.streamPayments({ topic, provider: 0, status: 0 });
      stream.on("data", (event: unknown) => received.push(event));
      stream.on("error", (error: Error) => problems.push(`error: ${error.message}`));
      stream.on("end", () => problems.push("ended"));
      await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1);
      await new Promise((resolve) => setTimeout(resolve, 90_000));
      expect(problems).toEqual([]);
      await produce(bootstrap, topic, [
        {
          key: "pay_idle",
          value: JSON.stringify({ id: "pay_idle", provider: "paypal", amount: "5.00", currency: "eur" }),
        },
      ]);
      await waitUntil(() => received.length === 1);
      expect(received[0].payment).toMatchObject({ id: "pay_idle", amount: 5, currency: "EUR" });
      stream.cancel();
    } finally {
      client.close();
      await pa.stop();
    }
  }, 150_000);
});
