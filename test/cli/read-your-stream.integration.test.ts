// `pa-cli get` after `pa-cli stream`: the real bin against a real pa whose view (the store that
// follows the log) is held back at a gate, so payments are streamed before they are stored. With
// the streamed event's cursor, get waits for the store instead of answering "not found", and exits
// 3 with a plain message when its --timeout passes first. list answers the position it read at,
// from which stream continues with exactly what the list did not have.
import { fromJsonString } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { PaymentEventSchema, PaymentSchema } from "../../gen/payment/payment_pb.js";
import { createTopics, produce, uniqueTopic } from "../support/kafka.js";
import { type RunningPa, startPa } from "../support/pa.js";
import { waitUntil } from "../support/streams.js";
import { ViewGate } from "../support/view-store.js";
import { runCli, startCli } from "./cli-process.js";

const bootstrap = inject("kafkaBootstrap");
const topic = uniqueTopic("cli-read-your-stream");
const gate = new ViewGate();

const payment = (id: string) => ({
  key: id,
  value: JSON.stringify({ id, provider: "stripe", amount: 1200, currency: "usd", status: "succeeded" }),
});

let pa: RunningPa;
let server: string;

beforeAll(async () => {
  await createTopics(bootstrap, [topic]);
  // A write waits at the gate far longer than the test: no retry or breaker meanwhile.
  pa = await startPa(bootstrap, { WRITE_ATTEMPT_TIMEOUT: "5m" }, { viewStore: (store) => gate.wrap(store) });
  server = `127.0.0.1:${pa.port}`;
}, 60_000);

afterAll(async () => {
  gate.open();
  await pa?.stop();
});

describe("pa-cli get --consistent-with after stream --show-cursor", () => {
  it("waits for the store to hold what the stream showed, and exits 3 when --timeout passes first", async () => {
    const stream = startCli(["stream", topic, "--existing", "0", "--show-cursor", "--server", server]);
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1, 30_000);

    gate.shut();
    await produce(bootstrap, topic, [payment("ryos_1"), payment("ryos_2"), payment("ryos_3")]);
    await stream.waitFor((cli) => cli.lines().length >= 3, "three live lines");
    // Its view write waits at the gate (an idle view gathers records for a few ms first).
    await waitUntil(() => gate.writesHeld > 0);
    const last = /^🆕 \[\S+\] (\S+) \| .+ \| cursor (\S+)$/.exec(stream.lines()[2] ?? "");
    expect(last, stream.stdout()).not.toBeNull();
    const [, id = "", cursor = ""] = last ?? [];
    stream.child.kill("SIGINT");
    expect(await stream.exited).toBe(0);

    // Streamed but not stored: without the cursor pa says not found (exit 1) ...
    const missing = await runCli(["get", id, "--server", server]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("not found");

    // ... with it and too little time, "not stored yet" and exit 3, which a script can retry on.
    const late = await runCli([
      "get",
      id,
      "--consistent-with",
      cursor,
      "--timeout",
      "300ms",
      "--server",
      server,
    ]);
    expect(late.code).toBe(3);
    expect(late.stderr).toContain(`pa-cli: payment ${id}: not stored yet. pa's store had not caught up`);
    expect(late.stderr).toContain("--timeout 30s");

    // With time enough it waits for the store and prints the payment once the store has it.
    const waiting = startCli([
      "get",
      id,
      "--consistent-with",
      cursor,
      "--timeout",
      "30s",
      "--json",
      "--server",
      server,
    ]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(waiting.child.exitCode).toBeNull();
    gate.open();
    expect(await waiting.exited).toBe(0);
    expect(fromJsonString(PaymentSchema, waiting.stdout()).id).toBe(id);
  }, 120_000);

  it("lists as of a cursor, and streams on from the list's as_of with nothing lost or repeated", async () => {
    const stream = startCli(["stream", topic, "--existing", "0", "--json", "--server", server]);
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1, 30_000);
    gate.shut();
    await produce(bootstrap, topic, [payment("ryos_4"), payment("ryos_5")]);
    await stream.waitFor((cli) => cli.lines().length >= 2, "two events as JSON");
    const cursor = fromJsonString(PaymentEventSchema, stream.lines()[1] ?? "").cursor;
    expect(cursor).not.toBe("");
    stream.child.kill("SIGINT");
    await stream.exited;

    const listing = runCli([
      "list",
      "--topic",
      topic,
      "--limit",
      "100",
      "--consistent-with",
      cursor,
      "--server",
      server,
    ]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    gate.open();
    const list = await listing;
    expect(list.code).toBe(0);
    for (let n = 1; n <= 5; n++) expect(list.stdout).toContain(`ryos_${n}`);
    const asOf = /as of (\S+) \(stream on with --from \1 --existing 0\)/.exec(list.stdout)?.[1];
    expect(asOf, list.stdout).toBeDefined();

    await produce(bootstrap, topic, [payment("ryos_6"), payment("ryos_7")]);
    const after = startCli([
      "stream",
      topic,
      "--from",
      asOf ?? "",
      "--existing",
      "0",
      "--json",
      "--server",
      server,
    ]);
    await after.waitFor((cli) => cli.lines().length >= 2, "the two payments after the list");
    // Anything repeated from the list would arrive with or before them; give it a moment to show.
    await new Promise((resolve) => setTimeout(resolve, 500));
    after.child.kill("SIGINT");
    await after.exited;
    const ids = after.lines().map((line) => fromJsonString(PaymentEventSchema, line).payment?.id);
    expect(ids.sort()).toEqual(["ryos_6", "ryos_7"]);
  }, 120_000);
});
