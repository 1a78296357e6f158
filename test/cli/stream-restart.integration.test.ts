// pa-cli stream across a pa restart: pa in its own process, stopped with SIGTERM and started again
// on the same port and DATA_DIR while the real pa-cli bin keeps streaming.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromJsonString } from "@bufbuild/protobuf";
import { afterAll, describe, expect, inject, it } from "vitest";
import { type PaymentEvent, PaymentEventSchema } from "../../gen/payment/payment_pb.js";
import { createTopics, produce, uniqueTopic } from "../support/kafka.js";
import { type RunningCli, startCli } from "./cli-process.js";
import { freePort, type PaProcess, startPaProcess } from "./pa-process.js";

const bootstrap = inject("kafkaBootstrap");
const running: { pa?: PaProcess; cli?: RunningCli } = {};

afterAll(() => {
  if (running.pa?.child.exitCode === null) running.pa.child.kill("SIGKILL");
  if (running.cli?.child.exitCode === null) running.cli.child.kill("SIGKILL");
});

function payments(topic: string, from: number, count: number) {
  return Array.from({ length: count }, (_, i) => {
    const id = `restart_${from + i}`;
    return {
      key: id,
      value: JSON.stringify({
        id,
        provider: "stripe",
        amount: 100 + from + i,
        currency: "usd",
        status: "succeeded",
        customer_email: "restart@example.com",
        metadata: { topic },
        timestamp: Math.floor(Date.now() / 1000),
      }),
    };
  });
}

describe("pa-cli stream across a pa restart", () => {
  it("reconnects, resumes from the last cursor and shows every payment exactly once", async () => {
    const topic = uniqueTopic("cli-restart");
    await createTopics(bootstrap, [topic]);
    const port = await freePort();
    const env = {
      KAFKA_BROKERS: bootstrap,
      KAFKA_TOPIC: "",
      KAFKA_GROUP_ID: `test-cli-restart-${Date.now()}`,
      DATA_DIR: mkdtempSync(join(tmpdir(), "pa-cli-restart-")),
    };
    running.pa = await startPaProcess(port, env);
    await produce(bootstrap, topic, payments(topic, 0, 30));

    const cli = startCli([
      "stream",
      topic,
      "--from",
      "earliest",
      "--existing",
      "0",
      "--json",
      "--server",
      `127.0.0.1:${port}`,
    ]);
    running.cli = cli;
    await cli.waitFor((c) => c.lines().length >= 30, "the first 30 payments");

    expect(await running.pa.stop()).toBe(0);
    await cli.waitFor((c) => c.stderr().includes("stream interrupted"), "pa-cli noticing the shutdown");
    // Written while no pa runs: the resumed stream must pick these up from Kafka.
    await produce(bootstrap, topic, payments(topic, 30, 30));

    running.pa = await startPaProcess(port, env);
    await cli.waitFor((c) => c.lines().length >= 60, "the payments written while pa was down", 120_000);
    expect(cli.stderr()).toContain("✔ reconnected");
    await produce(bootstrap, topic, payments(topic, 60, 30));
    await cli.waitFor((c) => c.lines().length >= 90, "the payments written after the restart");
    // Anything duplicated would arrive alongside; give it a moment to show.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    cli.child.kill("SIGINT");
    expect(await cli.exited).toBe(0);
    await running.pa.stop();

    const events: PaymentEvent[] = cli.lines().map((line) => fromJsonString(PaymentEventSchema, line));
    const ids = events.map((event) => event.payment?.id);
    expect(ids).toHaveLength(90);
    expect(new Set(ids)).toEqual(new Set(Array.from({ length: 90 }, (_, i) => `restart_${i}`)));
    // No gap and no duplicate, in order: each partition's offsets are 0, 1, 2, ... as received.
    const offsets = new Map<number, bigint[]>();
    for (const event of events)
      offsets.set(event.partition, [...(offsets.get(event.partition) ?? []), event.offset]);
    for (const list of offsets.values()) {
      expect(list).toEqual(list.map((_, i) => BigInt(i)));
    }
    expect(cli.stderr()).toMatch(
      /⚠ stream interrupted \(pa is shutting down\); reconnecting in [\d.]+s from the last cursor\n/,
    );
    expect(cli.stderr()).toMatch(
      /⏹ stopped after [\d.]+s: 90 payments \(0 existing, 90 new\), 1 interruption; resume with --from \S+/,
    );
  });
});
