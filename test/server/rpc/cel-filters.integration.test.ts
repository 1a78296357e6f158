// CEL filters over every protocol (native gRPC path, gRPC-Web, Connect JSON): an expression that
// matches some payments, one that matches none, one that does not compile (INVALID_ARGUMENT with
// its position), one that fails at run time on some payments (left out and counted, the stream
// goes on), and a filtered stream resumed by cursor after a restart.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type PaymentEvent, StreamStart } from "../../../gen/payment/payment_pb.js";
import { connectJsonClient, grpcClient, grpcWebClient, type PaymentClient } from "../../support/clients.js";
import { createTopics, produce, type TestMessage, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { collect, streamFailure } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");

/** Payment `i`: web when i % 3 == 0, no channel at all when i % 4 == 0, large when i is even. */
function record(prefix: string, i: number): TestMessage {
  const metadata: Record<string, string> = { order_id: `ORD-${i}` };
  if (i % 4 !== 0) metadata.channel = i % 3 === 0 ? "web" : "ios";
  return {
    key: `${prefix}_${i}`,
    value: JSON.stringify({
      id: `${prefix}_${i}`,
      provider: "stripe",
      amount: i % 2 === 0 ? 250_000 : 900,
      currency: "usd",
      status: "succeeded",
      customer_email: `c${i}@acme.com`,
      metadata,
      timestamp: 1_790_000_000 + i,
    }),
    partition: 0,
  };
}

const WEB = 'payment.metadata["channel"] == "web"';
const isWeb = (i: number) => i % 4 !== 0 && i % 3 === 0;
const ids = (events: PaymentEvent[]) => events.map((e) => e.payment?.id);
const earliest = { startPosition: { case: "start" as const, value: StreamStart.EARLIEST }, existingLimit: 0 };

describe("CEL filters", () => {
  let pa: RunningPa;
  let clients: [string, PaymentClient][];
  let topic: string;
  const count = 60;

  beforeAll(async () => {
    pa = await startPa(bootstrap);
    clients = [
      ["grpc", grpcClient(pa.baseUrl)],
      ["grpc-web", grpcWebClient(pa.baseUrl)],
      ["connect", connectJsonClient(pa.baseUrl)],
    ];
    topic = uniqueTopic("cel");
    await createTopics(bootstrap, [topic], 1);
    await produce(
      bootstrap,
      topic,
      Array.from({ length: count }, (_, i) => record("cel", i)),
    );
  });
  afterAll(async () => {
    await pa?.stop();
  });

  it("streams only the matching payments, in order, past the ones the expression fails on", async () => {
    // A failure on payments without a channel key must not end the stream: the later matches come.
    const wanted = Array.from({ length: count }, (_, i) => i)
      .filter((i) => isWeb(i) && i % 2 === 0)
      .map((i) => `cel_${i}`);
    for (const [name, client] of clients) {
      const events = await collect(
        (signal) =>
          client.streamPayments(
            { topic, ...earliest, filter: `payment.amount_minor >= 100000 &&\n ${WEB}` },
            { signal },
          ),
        wanted.length,
      );
      expect(ids(events), name).toEqual(wanted);
    }
  });

  it("streams the matching stored payments as existing ones", async () => {
    const stored = Array.from({ length: count }, (_, i) => i)
      .filter((i) => i >= count - 12 && isWeb(i))
      .map((i) => `cel_${i}`);
    // Wait until pa processed the whole topic (stored before it is streamed).
    await collect(
      (signal) => grpcClient(pa.baseUrl).streamPayments({ topic, ...earliest }, { signal }),
      count,
    );
    for (const [name, client] of clients) {
      const events = await collect(
        (signal) => client.streamPayments({ topic, existingLimit: 12, filter: WEB }, { signal }),
        stored.length,
      );
      expect(ids(events), name).toEqual(stored);
      expect(
        events.every((e) => e.eventType === "existing"),
        name,
      ).toBe(true);
    }
  });

  it("refuses an expression that does not compile with INVALID_ARGUMENT and its position", async () => {
    for (const [name, client] of clients) {
      const error = await streamFailure(
        client.streamPayments({
          topic,
          ...earliest,
          filter: 'payment.currency == "USD" &&\n  payment.amount_cents > 5',
        }),
      );
      expect(error.code, name).toBe(Code.InvalidArgument);
      expect(error.rawMessage, name).toMatch(
        /^filter does not compile at line 2, column 10: payment has no field "amount_cents"/,
      );
      const listed = await client.listPayments({ topic, filter: "payment.amount_minor >" }).catch((e) => e);
      expect(listed.code, name).toBe(Code.InvalidArgument);
      expect(listed.rawMessage, name).toMatch(/^filter does not compile at line 1, column \d+: /);
    }
  });

  it("lists the matching payments page by page, counting the rows the expression failed on", async () => {
    await collect(
      (signal) => grpcClient(pa.baseUrl).streamPayments({ topic, ...earliest }, { signal }),
      count,
    );
    const wanted = Array.from({ length: count }, (_, i) => i)
      .filter(isWeb)
      .map((i) => `cel_${i}`)
      .reverse();
    for (const [name, client] of clients) {
      const seen: string[] = [];
      let cursor = "";
      let failures = 0;
      do {
        const page = await client.listPayments({ topic, limit: 4, cursor, filter: WEB });
        seen.push(...page.payments.map((p) => p.id));
        failures += page.filterErrors;
        expect(page.totalCount, name).toBe(count);
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen, name).toEqual(wanted);
      expect(failures, name).toBe(count / 4);
      const none = await client.listPayments({ topic, filter: 'payment.currency == "JPY"' });
      expect(none.payments, name).toEqual([]);
      expect(none.nextCursor, name).toBe("");
    }
  });

  it("a filter that matches nothing sends nothing until the stream ends", async () => {
    for (const [name, client] of clients) {
      const events: PaymentEvent[] = [];
      const error = await (async () => {
        try {
          for await (const event of client.streamPayments(
            { topic, ...earliest, filter: 'payment.currency == "JPY"' },
            { timeoutMs: 3000 },
          ))
            events.push(event);
        } catch (e) {
          return e as { code: Code };
        }
        return undefined;
      })();
      expect(error?.code, name).toBe(Code.DeadlineExceeded);
      expect(events, name).toEqual([]);
    }
  });
});

describe("a filtered stream resumed by cursor after a restart", () => {
  it("gets exactly the matching events it missed", async () => {
    const topic = uniqueTopic("cel-resume");
    await createTopics(bootstrap, [topic], 1);
    const env = {
      KAFKA_GROUP_ID: `test-cel-resume-${Date.now()}`,
      DATA_DIR: mkdtempSync(join(tmpdir(), "pa-cel-resume-")),
    };
    await produce(
      bootstrap,
      topic,
      Array.from({ length: 30 }, (_, i) => record("before", i)),
    );
    let pa = await startPa(bootstrap, env);
    let cursor: string;
    try {
      const before = Array.from({ length: 30 }, (_, i) => i).filter(isWeb);
      const events = await collect(
        (signal) => grpcClient(pa.baseUrl).streamPayments({ topic, ...earliest, filter: WEB }, { signal }),
        before.length,
      );
      expect(ids(events)).toEqual(before.map((i) => `before_${i}`));
      cursor = events.at(-1)?.cursor ?? "";
    } finally {
      await pa.stop();
    }
    await produce(
      bootstrap,
      topic,
      Array.from({ length: 30 }, (_, i) => record("after", i)),
    );
    pa = await startPa(bootstrap, env);
    try {
      const missed = Array.from({ length: 30 }, (_, i) => i)
        .filter(isWeb)
        .map((i) => `after_${i}`);
      for (const client of [
        grpcClient(pa.baseUrl),
        grpcWebClient(pa.baseUrl),
        connectJsonClient(pa.baseUrl),
      ]) {
        // One more than expected, then a marker that matches: nothing else may come before it.
        await produce(bootstrap, topic, [record("marker", 3)]);
        const events = await collect(
          (signal) =>
            client.streamPayments(
              { topic, startPosition: { case: "startCursor", value: cursor }, filter: WEB },
              { signal },
            ),
          missed.length + 1,
        );
        expect(ids(events).slice(0, missed.length)).toEqual(missed);
        expect(ids(events).at(-1)).toBe("marker_3");
        // The marker now counts as missed for the next client.
        missed.push("marker_3");
      }
    } finally {
      await pa.stop();
    }
  });
});
