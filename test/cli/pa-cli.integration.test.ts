// The real pa-cli bin against a real pa (in this process) and the real broker.
import { fromJsonString } from "@bufbuild/protobuf";
import { KafkaJS } from "@confluentinc/kafka-javascript";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ListDeadLettersResponseSchema } from "../../gen/pa/admin/v1/dead_letter_service_pb.js";
import {
  PaymentEventSchema,
  PaymentListSchema,
  PaymentSchema,
  TopicListSchema,
} from "../../gen/payment/payment_pb.js";
import { grpcClient } from "../support/clients.js";
import { createTopics, produce, uniqueTopic } from "../support/kafka.js";
import { type RunningPa, startPa } from "../support/pa.js";
import { waitUntil } from "../support/streams.js";
import { runCli, startCli } from "./cli-process.js";

const bootstrap = inject("kafkaBootstrap");
const topic = uniqueTopic("cli");
const produceTopic = uniqueTopic("cli-produce");
const now = Math.floor(Date.now() / 1000);

/** Raw records in each provider's own units, and the line pa-cli must print for each. */
const payments = [
  {
    raw: { id: "cli_usd", provider: "stripe", amount: 5000, currency: "usd", status: "succeeded" },
    shows: "STRIPE | $50.00 USD | ✅ COMPLETED",
  },
  {
    raw: { id: "cli_cents", provider: "stripe", amount: 99, currency: "usd", status: "pending" },
    shows: "STRIPE | $0.99 USD | ⏳ PENDING",
  },
  {
    raw: { id: "cli_jpy", provider: "stripe", amount: 5000, currency: "jpy", status: "failed" },
    shows: "STRIPE | ¥5,000 JPY | ❌ FAILED",
  },
  {
    raw: { id: "cli_kwd", provider: "razorpay", amount: 1500, currency: "kwd", status: "paid" },
    shows: "RAZORPAY | KWD 1.500 | ✅ COMPLETED",
  },
  {
    raw: { id: "cli_inr", provider: "razorpay", amount: 123456, currency: "inr", status: "refunded" },
    shows: "RAZORPAY | ₹1,234.56 INR | ↩️ REFUNDED",
  },
  {
    raw: { id: "cli_eur", provider: "paypal", amount: "10.50", currency: "EUR", status: "COMPLETED" },
    shows: "PAYPAL | €10.50 EUR | ✅ COMPLETED",
  },
];

let pa: RunningPa;
let server: string;

beforeAll(async () => {
  await createTopics(bootstrap, [topic, produceTopic]);
  pa = await startPa(bootstrap, { KAFKA_TOPIC: `${topic},${produceTopic}` });
  server = `127.0.0.1:${pa.port}`;
  await produce(
    bootstrap,
    topic,
    payments.map(({ raw }) => ({
      key: raw.id,
      value: JSON.stringify({
        ...raw,
        customer_email: `${raw.id}@example.com`,
        metadata: { order: raw.id },
        timestamp: now,
      }),
    })),
  );
  const client = grpcClient(pa.baseUrl);
  await waitUntil(
    async () => (await client.listPayments({ topic })).totalCount === payments.length,
    60_000,
    () => "pa stored the test payments",
  );
}, 120_000);

afterAll(async () => {
  await pa?.stop();
});

describe("pa-cli stream", () => {
  it("prints the PoC's lines with exact amounts, and a summary on Ctrl-C (exit 0)", async () => {
    const cli = startCli(["stream", topic, "--from", "earliest", "--existing", "0", "--server", server]);
    await cli.waitFor((c) => c.lines().length >= payments.length, "all payments streamed");
    const lines = cli.lines();
    for (const { raw, shows } of payments) {
      expect(lines).toContain(`🆕 [${topic}] ${raw.id} | ${shows}`);
    }
    cli.child.kill("SIGINT");
    expect(await cli.exited).toBe(0);
    expect(cli.stderr()).toMatch(
      /⏹ stopped after [\d.]+s: 6 payments \(0 existing, 6 new\), 0 interruptions; resume with --from \S+/,
    );
  });

  it("shows stored payments first as 📦", async () => {
    const cli = startCli(["stream", topic, "--existing", "2", "--server", server]);
    await cli.waitFor((c) => c.lines().length >= 2, "two stored payments");
    expect(cli.lines().every((line) => line.startsWith(`📦 [${topic}] cli_`))).toBe(true);
    cli.child.kill("SIGINT");
    expect(await cli.exited).toBe(0);
  });

  it("--json prints one parseable PaymentEvent per line, with exact minor units and cursors", async () => {
    const cli = startCli([
      "stream",
      topic,
      "--from",
      "earliest",
      "--existing",
      "0",
      "--json",
      "--server",
      server,
    ]);
    await cli.waitFor((c) => c.lines().length >= payments.length, "all payments streamed");
    const events = cli.lines().map((line) => fromJsonString(PaymentEventSchema, line));
    const byId = new Map(events.map((event) => [event.payment?.id, event]));
    expect(byId.get("cli_jpy")?.payment?.amountMinor).toBe(5000n);
    expect(byId.get("cli_kwd")?.payment?.amountMinor).toBe(1500n);
    expect(byId.get("cli_eur")?.payment?.amountMinor).toBe(1050n);
    expect(events.every((event) => event.cursor.length > 0 && event.topic === topic)).toBe(true);
    cli.child.kill("SIGINT");
    expect(await cli.exited).toBe(0);
  });

  it("filters by provider and status", async () => {
    const cli = startCli([
      "stream",
      topic,
      "--from",
      "earliest",
      "--existing",
      "0",
      "--provider",
      "stripe",
      "--status",
      "failed",
      "--server",
      server,
    ]);
    await cli.waitFor((c) => c.lines().length >= 1, "the failed stripe payment");
    // Everything else of the topic was read by now too: give it a moment to show up if it would.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(cli.lines()).toEqual([`🆕 [${topic}] cli_jpy | STRIPE | ¥5,000 JPY | ❌ FAILED`]);
    cli.child.kill("SIGINT");
    expect(await cli.exited).toBe(0);
  });
});

describe("pa-cli --filter", () => {
  it("list and stream take a CEL expression", async () => {
    const filter = 'payment.currency == "USD" && payment.amount_minor >= 1000';
    const table = await runCli(["list", "--topic", topic, "--filter", filter, "--server", server]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("cli_usd");
    expect(table.stdout).not.toContain("cli_cents");
    expect(table.stdout).toMatch(/1 shown of 6 before --filter/);

    const cli = startCli([
      "stream",
      topic,
      "--from",
      "earliest",
      "--existing",
      "0",
      "--filter",
      filter,
      "--server",
      server,
    ]);
    await cli.waitFor((c) => c.lines().length >= 1, "the USD payment of 50.00");
    expect(cli.lines()).toEqual([`🆕 [${topic}] cli_usd | STRIPE | $50.00 USD | ✅ COMPLETED`]);
    cli.child.kill("SIGINT");
    expect(await cli.exited).toBe(0);
  });

  it("says where an expression does not compile", async () => {
    const result = await runCli(["stream", topic, "--filter", "payment.amount_minor >", "--server", server]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/filter does not compile at line 1, column \d+/);
  });
});

describe("pa-cli queries", () => {
  it("get shows a payment as a table and as JSON", async () => {
    const table = await runCli(["get", "cli_kwd", "--server", server]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("KWD 1.500");
    expect(table.stdout).toContain("cli_kwd@example.com");
    expect(table.stdout).toContain(topic);
    const json = await runCli(["get", "cli_eur", "--json", "--server", server]);
    expect(json.code).toBe(0);
    const payment = fromJsonString(PaymentSchema, json.stdout.trim());
    expect(payment.amountMinor).toBe(1050n);
    expect(payment.currency).toBe("EUR");
  });

  it("get of an unknown id says not found (exit 1)", async () => {
    const result = await runCli(["get", "no_such_payment", "--server", server]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("not found");
  });

  it("list filters, pages and prints JSON", async () => {
    const json = await runCli([
      "list",
      "--topic",
      topic,
      "--provider",
      "stripe",
      "--json",
      "--server",
      server,
    ]);
    expect(json.code).toBe(0);
    const page = fromJsonString(PaymentListSchema, json.stdout.trim());
    expect(page.payments.map((p) => p.id).sort()).toEqual(["cli_cents", "cli_jpy", "cli_usd"]);

    const table = await runCli(["list", "--topic", topic, "--limit", "4", "--server", server]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/4 shown of 6 matching; next page: --cursor \S+/);
    const all = await runCli([
      "list",
      "--topic",
      topic,
      "--limit",
      "4",
      "--all",
      "--json",
      "--server",
      server,
    ]);
    const ids = all.stdout
      .trim()
      .split("\n")
      .flatMap((line) => fromJsonString(PaymentListSchema, line).payments.map((p) => p.id));
    expect(ids.sort()).toEqual(payments.map(({ raw }) => raw.id).sort());

    const exact = await runCli([
      "list",
      "--topic",
      topic,
      "--currency",
      "usd",
      "--min-amount",
      "0.99",
      "--max-amount",
      "0.99",
      "--json",
      "--server",
      server,
    ]);
    expect(fromJsonString(PaymentListSchema, exact.stdout.trim()).payments.map((p) => p.id)).toEqual([
      "cli_cents",
    ]);
  });

  it("topics lists the active topics", async () => {
    const table = await runCli(["topics", "--server", server]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(topic);
    const json = await runCli(["topics", "--json", "--server", server]);
    expect(fromJsonString(TopicListSchema, json.stdout.trim()).topics).toContain(topic);
  });

  it("health says SERVING (exit 0)", async () => {
    const result = await runCli(["health", "--server", server]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/pa\s+✔ SERVING/);
    expect(result.stdout).toMatch(/payment\.PaymentService\s+✔ SERVING/);
  });

  it("sends the token as a bearer credential without breaking anything", async () => {
    const result = await runCli(["health", "--server", server], { PA_TOKEN: "secret-token" });
    expect(result.code).toBe(0);
  });
});

describe("pa-cli errors", () => {
  it.each([
    [["stream"], /missing required argument 'topic'/],
    [["stream", topic, "--provider", "bitcoin"], /Use one of: stripe, razorpay, paypal/],
    [["stream", topic, "--from", "yesterday please"], /"latest", "earliest", an ISO time/],
    [["stream", topic, "--existing", "-3"], /--existing/],
    [["list", "--limit", "ten"], /Use a whole number/],
    [["list", "--min-amount", "5"], /--min-amount needs --currency/],
    [["list", "--currency", "usd", "--min-amount", "10.505"], /at most 2 places/],
    [["dlq", "redrive", topic], /exactly one of --all, --offsets/],
    [["produce", "--topic", topic, "--rate", "fast"], /records per second/],
    [["produce", "--topic", topic, "--rate", "5", "--interval", "1s"], /cannot be used with/],
    [["--server", "localhost", "topics"], /not host:port/],
    [["frobnicate"], /unknown command 'frobnicate'/],
  ])("%j exits 2 and says why", async (args, message) => {
    const result = await runCli([...args, ...(args.includes("--server") ? [] : ["--server", server])]);
    expect(result.stderr).toMatch(message);
    expect(result.code).toBe(2);
  });

  it("a request pa refuses as invalid exits 2 with pa's reason", async () => {
    const result = await runCli(["stream", "bad topic name!", "--server", server]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("pa refused the request");
  });

  it("an unknown topic says not found (exit 1)", async () => {
    const result = await runCli(["stream", uniqueTopic("missing"), "--server", server]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/not found: .*does not exist|not found/);
  });

  it("a cursor whose records retention deleted fails with how to go on; --allow-gap resumes at the oldest record", async () => {
    const pruned = uniqueTopic("cli-pruned");
    await createTopics(bootstrap, [pruned], 1);
    await produce(
      bootstrap,
      pruned,
      payments.map(({ raw }) => ({ key: raw.id, value: JSON.stringify({ ...raw, timestamp: now }) })),
    );
    const admin = new KafkaJS.Kafka({
      kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.NOTHING },
    }).admin();
    await admin.connect();
    try {
      await admin.deleteTopicRecords({ topic: pruned, partitions: [{ partition: 0, offset: "4" }] });
    } finally {
      await admin.disconnect();
    }
    const cursor = Buffer.from(JSON.stringify({ v: 1, t: pruned, p: [1] })).toString("base64url");
    const refused = await runCli(["stream", pruned, "--from", cursor, "--server", server]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/pa cannot resume from that cursor: Kafka no longer holds .*--allow-gap/);

    const cli = startCli(["stream", pruned, "--from", cursor, "--allow-gap", "--json", "--server", server]);
    await cli.waitFor((c) => c.lines().length >= 2, "the records Kafka still holds");
    const offsets = cli.lines().map((line) => Number(fromJsonString(PaymentEventSchema, line).offset));
    expect(offsets).toEqual([4, 5]);
    cli.child.kill("SIGINT");
    expect(await cli.exited).toBe(0);
  });

  it("an unreachable server says how to start pa (exit 1)", async () => {
    for (const args of [["topics"], ["stream", topic]]) {
      const result = await runCli([...args, "--server", "127.0.0.1:1"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("server not reachable at 127.0.0.1:1");
      expect(result.stderr).toContain("npm run dev");
    }
  });
});

describe("pa-cli produce and dlq", () => {
  it("produce --invalid N puts exactly N records in the DLQ", async () => {
    const result = await runCli(
      ["produce", "--topic", produceTopic, "--count", "20", "--invalid", "14", "--seed", "7"],
      {
        KAFKA_BROKERS: bootstrap,
      },
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${produceTopic}: 20 payments + 14 poison delivered`);
    expect(result.stdout).toMatch(/delivered 34 records in/);

    // pa has read all 34 records, then the DLQ holds exactly 14 (one of each kind).
    const client = grpcClient(pa.baseUrl);
    await waitUntil(
      async () =>
        (await client.getTopics({})).details.find((t) => t.topic === produceTopic)?.messagesConsumed === 34n,
      60_000,
      () => "pa consumed the produced records",
    );
    await waitUntil(
      async () => (await dlqRecordCount(`${produceTopic}.dlq`)) === 14,
      60_000,
      () => "14 dead letters",
    );
    expect((await client.listPayments({ topic: produceTopic })).totalCount).toBe(20);

    const list = await runCli(["dlq", "list", produceTopic, "--json", "--server", server]);
    expect(list.stderr).toBe("");
    const page = fromJsonString(ListDeadLettersResponseSchema, list.stdout.trim());
    expect(page.totalCount).toBe(14n);
    // Every kind of poison the generator knows, each once.
    expect(new Set(page.deadLetters.map((letter) => letter.key.replace(/-\d+$/, ""))).size).toBe(14);

    const table = await runCli(["dlq", "list", produceTopic, "--limit", "5", "--server", server]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/5 shown of 14 dead letters/);

    const first = page.deadLetters[0];
    const dryRun = await runCli([
      "dlq",
      "redrive",
      produceTopic,
      "--offsets",
      `${first.originalPartition}:${first.originalOffset}`,
      "--dry-run",
      "--server",
      server,
    ]);
    expect(dryRun.stderr).toBe("");
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toContain("would redrive 1, skipped 0");
    expect(await dlqRecordCount(`${produceTopic}.dlq`)).toBe(14);
  });

  it("produce to a topic that does not exist says so (exit 1)", async () => {
    const missing = uniqueTopic("missing");
    const result = await runCli(["produce", "--topic", missing], { KAFKA_BROKERS: bootstrap });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`topic not found: ${missing}`);
  });
});

/** Records in a topic: the sum of its partitions' high watermarks (nothing is ever deleted in a test). */
async function dlqRecordCount(dlqTopic: string): Promise<number> {
  const admin = new KafkaJS.Kafka({
    kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.NOTHING },
  }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(dlqTopic);
    return offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
  } catch {
    return 0;
  } finally {
    await admin.disconnect();
  }
}
