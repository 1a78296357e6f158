// consistent_with: a stream's cursor as a consistency token. Payments reach streams before the
// store has them (the store is a view that follows the log); here the view's writes are held back
// at a gate, so a GetPayment with an event's cursor must wait for the view, and fails with
// DEADLINE_EXCEEDED when its deadline comes first. ListPayments answers with as_of, from which a
// stream continues with exactly what the list did not have.
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createPaymentGenerator } from "../../../server/demo/payment-generator.js";
import { decodeStreamCursor } from "../../../server/streaming/stream-cursor.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, produce, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { parsePrometheusText, sampleValue } from "../../support/prometheus-text.js";
import { openStream, waitUntil } from "../../support/streams.js";
import { ViewGate } from "../../support/view-store.js";

const bootstrap = inject("kafkaBootstrap");
const gate = new ViewGate();
let pa: RunningPa | undefined;
afterAll(async () => {
  gate.open();
  await pa?.stop();
});

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call succeeded");
}

describe("read your stream with consistent_with", () => {
  it("waits for the view to store what the stream showed, within the call's deadline", async () => {
    // A write attempt waits at the gate far longer than the test: no retry or breaker meanwhile.
    pa = await startPa(
      bootstrap,
      { WRITE_ATTEMPT_TIMEOUT: "5m" },
      { viewStore: (store) => gate.wrap(store) },
    );
    const running = pa;
    const client = grpcClient(running.baseUrl);
    const topic = uniqueTopic("read-your-stream");
    await createTopics(bootstrap, [topic]);
    const generator = createPaymentGenerator({ seed: 1405 });
    const stream = openStream((signal) => client.streamPayments({ topic, existingLimit: 0 }, { signal }));
    await waitUntil(() => running.app.hub.subscriptionsOf(topic).length === 1);

    gate.shut();
    const first = Array.from({ length: 5 }, () => generator.valid());
    await produce(bootstrap, topic, first);
    // Streamed while the view cannot store anything.
    await stream.waitFor(first.length);
    // Its view write waits at the gate (an idle view gathers records for a few ms first).
    await waitUntil(() => gate.writesHeld > 0);
    const last = stream.events.at(-1);
    const id = last?.payment?.id ?? "";
    const cursor = last?.cursor ?? "";
    const status = async () => (await client.getTopics({})).details.find((detail) => detail.topic === topic);
    expect(Number((await status())?.viewLag)).toBe(first.length);
    const readyz = (await (await fetch(`${running.baseUrl}/readyz`)).json()) as {
      viewLag: Record<string, number>;
    };
    expect(readyz.viewLag[topic]).toBe(first.length);
    const metrics = parsePrometheusText(await (await fetch(`${running.baseUrl}/metrics`)).text());
    expect(sampleValue(metrics, "pa_view_lag_records", { topic })).toBe(first.length);

    // Without the token the store does not have it yet; with it and a short deadline, the call says why.
    expect((await failure(client.getPayment({ paymentId: id }))).code).toBe(Code.NotFound);
    const late = await failure(
      client.getPayment({ paymentId: id, consistentWith: cursor }, { timeoutMs: 300 }),
    );
    expect(late.code).toBe(Code.DeadlineExceeded);
    const lateList = await failure(
      client.listPayments({ topic, consistentWith: cursor }, { timeoutMs: 300 }),
    );
    expect(lateList.code).toBe(Code.DeadlineExceeded);

    // With time enough it waits for the view, and answers once the view has the payment.
    let answered = false;
    const waiting = client
      .getPayment({ paymentId: id, consistentWith: cursor }, { timeoutMs: 30_000 })
      .finally(() => {
        answered = true;
      });
    const listing = client.listPayments({ topic, consistentWith: cursor, limit: 100 }, { timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(answered).toBe(false);
    gate.open();
    expect((await waiting).id).toBe(id);
    const page = await listing;
    expect(page.totalCount).toBe(first.length);

    // as_of is where the list was read: at least up to the cursor, and a stream from it brings
    // exactly the payments after what was listed.
    const asOf = decodeStreamCursor(page.asOf, topic);
    const upTo = decodeStreamCursor(cursor, topic);
    for (const [partition, offset] of upTo.entries()) {
      expect(asOf[partition] ?? 0).toBeGreaterThanOrEqual(offset);
    }
    const second = Array.from({ length: 4 }, () => generator.valid());
    await produce(bootstrap, topic, second);
    await stream.waitFor(first.length + second.length);
    const after = openStream((signal) =>
      client.streamPayments({ topic, startPosition: { case: "startCursor", value: page.asOf } }, { signal }),
    );
    await after.waitFor(second.length);
    await new Promise((resolve) => setTimeout(resolve, 500));
    after.close();
    stream.close();
    expect(after.events.map((event) => event.payment?.id).sort()).toEqual(second.map((m) => m.key).sort());
    expect(new Set(page.payments.map((payment) => payment.id))).toEqual(new Set(first.map((m) => m.key)));

    // A token that is not a cursor is the caller's mistake.
    const bad = await failure(client.getPayment({ paymentId: id, consistentWith: "not-a-cursor" }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toMatch(/consistent_with is not a cursor pa issued/);
  }, 60_000);
});
