import { KafkaJS } from "@confluentinc/kafka-javascript";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type PaymentEvent, PaymentStatus, Provider, StreamStart } from "../../../gen/payment/payment_pb.js";
import {
  connectJsonClient,
  grpcClient,
  grpcWebClient,
  type PaymentClient,
  pocClient,
} from "../../support/clients.js";
import { createTopics, produce, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { collect, openStream, streamFailure, waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");

// The sidecar issue's normalization table: each raw record and what every client must see.
const table = [
  {
    raw: { provider: "stripe", amount: 5000, currency: "usd", status: "succeeded" },
    amount: 50,
    minor: 5000n,
    currency: "USD",
    provider: Provider.STRIPE,
    status: PaymentStatus.STATUS_COMPLETED,
  },
  {
    raw: { provider: "stripe", amount: 99, currency: "usd", status: "pending" },
    amount: 0.99,
    minor: 99n,
    currency: "USD",
    provider: Provider.STRIPE,
    status: PaymentStatus.STATUS_PENDING,
  },
  {
    raw: { provider: "Stripe", amount: 5000, currency: "jpy", status: "paid" },
    amount: 5000,
    minor: 5000n,
    currency: "JPY",
    provider: Provider.STRIPE,
    status: PaymentStatus.STATUS_COMPLETED,
  },
  {
    raw: { provider: "paypal", amount: "10.50", currency: "usd", status: "COMPLETED" },
    amount: 10.5,
    minor: 1050n,
    currency: "USD",
    provider: Provider.PAYPAL,
    status: PaymentStatus.STATUS_COMPLETED,
  },
  {
    raw: { provider: "razorpay", amount: 150000, currency: "inr", status: "processing" },
    amount: 1500,
    minor: 150000n,
    currency: "INR",
    provider: Provider.RAZORPAY,
    status: PaymentStatus.STATUS_PENDING,
  },
  {
    // PayPal does not take KWD (developer.paypal.com/reference/currency-codes); Razorpay does.
    raw: { provider: "razorpay", amount: 1234, currency: "kwd", status: "declined" },
    amount: 1.234,
    minor: 1234n,
    currency: "KWD",
    provider: Provider.RAZORPAY,
    status: PaymentStatus.STATUS_FAILED,
  },
  {
    raw: { provider: "razorpay", amount: 2500, currency: "eur", status: "refunded" },
    amount: 25,
    minor: 2500n,
    currency: "EUR",
    provider: Provider.RAZORPAY,
    status: PaymentStatus.STATUS_REFUNDED,
  },
  {
    raw: { provider: "adyen", amount: 12.5, currency: "gbp", status: "authorised" },
    amount: 12.5,
    minor: 1250n,
    currency: "GBP",
    provider: Provider.UNKNOWN,
    status: PaymentStatus.STATUS_UNKNOWN,
  },
] as const;

// Invalid by the rules: never streamed, dead-lettered with a reason.
const poison = [
  {
    key: "bad-decimals",
    value: { id: "pay_bad1", provider: "paypal", amount: 10.505, currency: "usd" },
    error: "invalid_amount",
    reason: /USD/,
  },
  {
    key: "bad-units",
    value: { id: "pay_bad2", provider: "stripe", amount: 45.99, currency: "usd" },
    error: "invalid_amount",
    reason: /AMOUNT_UNITS/,
  },
];

function records(prefix: string) {
  const valid = table.map((row, i) => ({
    key: `${prefix}_${i}`,
    value: JSON.stringify({
      id: `${prefix}_${i}`,
      customer_email: `c${i}@example.com`,
      metadata: { order_id: `ORD-${i}` },
      timestamp: 1703001234 + i,
      ...row.raw,
    }),
    partition: 0,
  }));
  const invalid = poison.map((p) => ({ key: p.key, value: JSON.stringify(p.value), partition: 0 }));
  return [...valid.slice(0, 4), ...invalid, ...valid.slice(4)];
}

const liveOnly = { existingLimit: 0 } as const;

describe("PaymentService through every kind of client, against the real broker", () => {
  let pa: RunningPa;
  const topic = uniqueTopic("rpc");

  beforeAll(async () => {
    await createTopics(bootstrap, [topic]);
    pa = await startPa(bootstrap);
  });
  afterAll(async () => {
    await pa?.stop();
  });

  it("normalizes the table exactly for gRPC, gRPC-Web, Connect JSON and the PoC's grpc-js client, and dead-letters poison", async () => {
    const clients: [string, PaymentClient][] = [
      ["grpc", grpcClient(pa.baseUrl)],
      ["grpc-web", grpcWebClient(pa.baseUrl)],
      ["connect-json", connectJsonClient(pa.baseUrl)],
    ];
    const streams = clients.map(([name, client]) => ({
      name,
      stream: openStream((signal) => client.streamPayments({ topic, ...liveOnly }, { signal })),
    }));
    const poc = pocClient(pa.port);
    // biome-ignore lint/suspicious/noExplicitAny: the PoC's client is untyped.
    const pocEvents: any[] = [];
    const pocStream = poc.streamPayments({ topic, provider: 0, status: 0 });
    pocStream.on("data", (event: unknown) => pocEvents.push(event));
    pocStream.on("error", () => {});
    await waitUntil(() => pa.app.hub.topicStatuses().some((t) => t.topic === topic && t.subscribers === 4));

    await produce(bootstrap, topic, records("pay_norm"));

    for (const { name, stream } of streams) {
      await stream.waitFor(table.length);
      const events = stream.events;
      expect(
        events.map((e) => e.payment?.id),
        name,
      ).toEqual(table.map((_, i) => `pay_norm_${i}`));
      events.forEach((event, i) => {
        const row = table[i] as (typeof table)[number];
        expect(event.eventType, name).toBe("new");
        expect(event.topic, name).toBe(topic);
        expect(event.partition, name).toBe(0);
        expect(event.cursor, name).not.toBe("");
        expect(event.payment, `${name} row ${i}`).toMatchObject({
          amount: row.amount,
          amountMinor: row.minor,
          currency: row.currency,
          provider: row.provider,
          status: row.status,
          customerEmail: `c${i}@example.com`,
          metadata: { order_id: `ORD-${i}` },
          createdAt: BigInt(1703001234 + i),
        });
      });
      stream.close();
    }

    await waitUntil(() => pocEvents.length >= table.length);
    expect(
      pocEvents.map((e) => [
        e.eventType,
        e.topic,
        e.payment.id,
        e.payment.amount,
        e.payment.currency,
        e.payment.provider,
        e.payment.status,
      ]),
    ).toEqual(
      table.map((row, i) => [
        "new",
        topic,
        `pay_norm_${i}`,
        row.amount,
        row.currency,
        row.provider,
        row.status,
      ]),
    );
    pocStream.cancel();
    poc.close();

    const letters = await readTopic(`${topic}.dlq`, poison.length);
    expect(letters.map((l) => l.envelope.error)).toEqual(poison.map((p) => p.error));
    poison.forEach((p, i) => {
      const letter = letters[i] as (typeof letters)[number];
      expect(letter.key).toBe(p.key);
      expect(letter.envelope).toMatchObject({
        original_topic: topic,
        partition: 0,
        key: p.key,
        value: JSON.stringify(p.value),
        retry_count: 0,
      });
      expect(letter.envelope.reason).toMatch(p.reason);
      expect(letter.headers["pa-dlq-error"]).toBe(p.error);
    });
  });

  it("sends stored payments as existing first, then live ones as new, with filters applied to both", async () => {
    const client = grpcClient(pa.baseUrl);
    const filteredTopic = uniqueTopic("filters");
    await createTopics(bootstrap, [filteredTopic]);
    const payment = (id: string, provider: string, status: string) => ({
      key: id,
      value: JSON.stringify({ id, provider, amount: 1000, currency: "usd", status }),
      partition: 1,
    });
    // The topic's feed starts with the first subscriber; this one only makes pa store the history.
    const warmup = openStream((signal) =>
      client.streamPayments({ topic: filteredTopic, ...liveOnly }, { signal }),
    );
    await waitUntil(() => pa.app.hub.topicStatuses().some((t) => t.topic === filteredTopic));
    await produce(bootstrap, filteredTopic, [
      payment("old_stripe_ok", "stripe", "succeeded"),
      payment("old_paypal_ok", "paypal", "completed"),
      payment("old_stripe_failed", "stripe", "failed"),
    ]);
    await waitUntil(
      async () => (await client.getPayment({ paymentId: "old_stripe_failed" }).catch(() => null)) !== null,
    );

    const filtered = openStream((signal) =>
      client.streamPayments(
        { topic: filteredTopic, provider: Provider.STRIPE, status: PaymentStatus.STATUS_COMPLETED },
        { signal },
      ),
    );
    const everything = openStream((signal) => client.streamPayments({ topic: filteredTopic }, { signal }));
    await everything.waitFor(3);
    await produce(bootstrap, filteredTopic, [
      payment("new_stripe_ok", "stripe", "succeeded"),
      payment("new_razorpay_ok", "razorpay", "paid"),
      payment("new_stripe_pending", "stripe", "pending"),
    ]);
    await everything.waitFor(6);
    await filtered.waitFor(2);
    const summary = (events: PaymentEvent[]) => events.map((e) => `${e.eventType}:${e.payment?.id}`);
    expect(summary(everything.events)).toEqual([
      "existing:old_stripe_ok",
      "existing:old_paypal_ok",
      "existing:old_stripe_failed",
      "new:new_stripe_ok",
      "new:new_razorpay_ok",
      "new:new_stripe_pending",
    ]);
    expect(summary(filtered.events)).toEqual(["existing:old_stripe_ok", "new:new_stripe_ok"]);
    const limited = await collect(
      (signal) => client.streamPayments({ topic: filteredTopic, existingLimit: 1 }, { signal }),
      1,
    );
    expect(summary(limited)).toEqual(["existing:new_stripe_pending"]);
    for (const s of [warmup, filtered, everything]) s.close();
  });

  it("answers GetPayment, ListPayments and GetTopics over Connect JSON, POST and GET, as curl would", async () => {
    // A subscriber keeps the topic active (it lingers out shortly after its last one leaves).
    const keepActive = openStream((signal) =>
      grpcClient(pa.baseUrl).streamPayments({ topic, ...liveOnly }, { signal }),
    );
    await waitUntil(() => pa.app.hub.topicStatuses().some((t) => t.topic === topic && t.subscribers === 1));
    const post = await fetch(`${pa.baseUrl}/payment.PaymentService/GetPayment`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ paymentId: "pay_norm_0" }),
    });
    expect(post.status).toBe(200);
    expect(await post.json()).toMatchObject({
      id: "pay_norm_0",
      provider: "PROVIDER_STRIPE",
      amount: 50,
      amountMinor: "5000",
      currency: "USD",
    });

    const message = encodeURIComponent(JSON.stringify({ paymentId: "pay_norm_3" }));
    const get = await fetch(
      `${pa.baseUrl}/payment.PaymentService/GetPayment?encoding=json&message=${message}`,
    );
    expect(get.status).toBe(200);
    expect(await get.json()).toMatchObject({ id: "pay_norm_3", amount: 10.5, amountMinor: "1050" });

    const list = await fetch(`${pa.baseUrl}/payment.PaymentService/ListPayments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ provider: "PROVIDER_STRIPE", limit: 2 }),
    });
    const page = (await list.json()) as {
      payments: { provider: string }[];
      nextCursor: string;
      totalCount: number;
    };
    expect(page.payments).toHaveLength(2);
    expect(page.payments.every((p) => p.provider === "PROVIDER_STRIPE")).toBe(true);
    expect(page.totalCount).toBeGreaterThanOrEqual(3);
    expect(page.nextCursor).not.toBe("");

    const topics = await fetch(`${pa.baseUrl}/payment.PaymentService/GetTopics?encoding=json&message=%7B%7D`);
    const body = (await topics.json()) as {
      topics: string[];
      count: number;
      details: { topic: string; partitions: number }[];
    };
    expect(body.topics).toContain(topic);
    expect(body.count).toBe(body.topics.length);
    expect(body.details.find((d) => d.topic === topic)?.partitions).toBe(3);
    keepActive.close();
  });

  it("gives bad requests the right code and a message that says what to fix", async () => {
    const client = grpcClient(pa.baseUrl);
    const streamError = (request: Parameters<PaymentClient["streamPayments"]>[0]) =>
      streamFailure(client.streamPayments(request));
    const expectations: [Parameters<PaymentClient["streamPayments"]>[0], Code, RegExp][] = [
      [{ topic: "" }, Code.InvalidArgument, /topic is required/],
      [{ topic: "bad topic!" }, Code.InvalidArgument, /not a legal Kafka topic name/],
      [{ topic: "x".repeat(250) }, Code.InvalidArgument, /at most 249/],
      [{ topic: "__consumer_offsets" }, Code.PermissionDenied, /internal/],
      [{ topic: `${topic}.dlq` }, Code.PermissionDenied, /dead-letter/],
      [{ topic: uniqueTopic("missing") }, Code.NotFound, /does not exist.*never creates topics/],
      [
        { topic, startPosition: { case: "startCursor", value: "garbage" } },
        Code.InvalidArgument,
        /not a cursor pa issued/,
      ],
      [{ topic, existingLimit: -1 }, Code.InvalidArgument, /existing_limit must be 0 or more/],
    ];
    for (const [request, code, message] of expectations) {
      const error = await streamError(request);
      expect(error.code, JSON.stringify(request).slice(0, 80)).toBe(code);
      expect(error.rawMessage).toMatch(message);
    }
    const otherTopicCursor = (
      await collect(
        (signal) =>
          client.streamPayments(
            { topic, startPosition: { case: "start", value: StreamStart.EARLIEST }, existingLimit: 0 },
            { signal },
          ),
        1,
      )
    )[0]?.cursor as string;
    const mismatch = await streamError({
      topic: uniqueTopic("other"),
      startPosition: { case: "startCursor", value: otherTopicCursor },
    });
    expect([Code.InvalidArgument, Code.NotFound]).toContain(mismatch.code);

    await expect(client.getPayment({ paymentId: "" })).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(client.getPayment({ paymentId: "pay_nope" })).rejects.toMatchObject({
      code: Code.NotFound,
      rawMessage: expect.stringContaining("pay_nope"),
    });
    await expect(client.listPayments({ limit: -1 })).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(client.listPayments({ cursor: "nonsense" })).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });

    // curl users get HTTP status codes and a JSON body naming the problem.
    const response = await fetch(`${pa.baseUrl}/payment.PaymentService/GetPayment`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ paymentId: "pay_nope" }),
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({
      code: "not_found",
      message: expect.stringContaining("pay_nope"),
    });
  });

  it("limits concurrent streams per connection and in total with RESOURCE_EXHAUSTED", async () => {
    const limited = await startPa(bootstrap, { MAX_STREAMS_PER_CONNECTION: "2", MAX_STREAMS: "3" });
    try {
      const client = grpcClient(limited.baseUrl);
      const open = [1, 2].map(() =>
        openStream((signal) => client.streamPayments({ topic, ...liveOnly }, { signal })),
      );
      await waitUntil(() => limited.app.streamSlots.count === 2);
      const third = openStream((signal) => client.streamPayments({ topic, ...liveOnly }, { signal }));
      expect(ConnectError.from(await third.done)).toMatchObject({
        code: Code.ResourceExhausted,
        rawMessage: expect.stringMatching(/MAX_STREAMS_PER_CONNECTION=2/),
      });
      const other = grpcClient(limited.baseUrl);
      const fourth = openStream((signal) => other.streamPayments({ topic, ...liveOnly }, { signal }));
      await waitUntil(() => limited.app.streamSlots.count === 3);
      const fifth = openStream((signal) =>
        grpcClient(limited.baseUrl).streamPayments({ topic, ...liveOnly }, { signal }),
      );
      expect(ConnectError.from(await fifth.done)).toMatchObject({
        code: Code.ResourceExhausted,
        rawMessage: expect.stringMatching(/MAX_STREAMS=3/),
      });
      for (const s of [...open, fourth]) s.close();
    } finally {
      await limited.stop();
    }
  });

  it("refuses topics outside TOPIC_ALLOWLIST", async () => {
    const restricted = await startPa(bootstrap, { TOPIC_ALLOWLIST: "payments.*,test.allowed.*" });
    try {
      const client = grpcClient(restricted.baseUrl);
      const error = await streamFailure(client.streamPayments({ topic }));
      expect(error).toMatchObject({
        code: Code.PermissionDenied,
        rawMessage: expect.stringContaining("TOPIC_ALLOWLIST=payments.*,test.allowed.*"),
      });
    } finally {
      await restricted.stop();
    }
  });
});

async function readTopic(topic: string, count: number) {
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.NOTHING } });
  const consumer = kafka.consumer({ kafkaJS: { groupId: `${topic}.reader`, fromBeginning: true } });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  const seen: {
    key: string;
    envelope: Record<string, unknown> & { reason: string; error: string };
    headers: Record<string, string>;
  }[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`only ${seen.length} of ${count} records in ${topic}`)),
      30_000,
    );
    consumer
      .run({
        eachMessage: async ({ message }) => {
          const headers = Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
          );
          seen.push({ key: String(message.key), envelope: JSON.parse(String(message.value)), headers });
          if (seen.length === count) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return seen.sort((a, b) => Number(a.envelope.offset) - Number(b.envelope.offset));
}
