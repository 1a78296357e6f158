// consistent_with on any instance, whoever processes the partition (issue 20): two pa instances
// share a topic's processing (SHARE_PROCESSING, one KAFKA_GROUP_ID, one PostgreSQL schema of this
// file's own). A's view writes are held back at a gate; a payment on a partition A processes
// reaches A's stream at once, and B, asked with that event's cursor, waits until A stored and
// committed it, then answers with it, for GetPayment and ListPayments alike.
import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createPaymentGenerator } from "../../../server/demo/payment-generator.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, produce, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { isolatedPostgres } from "../../support/postgres-schema.js";
import { openStream, waitUntil } from "../../support/streams.js";
import { ViewGate } from "../../support/view-store.js";

const bootstrap = inject("kafkaBootstrap");
const database = isolatedPostgres(inject("postgresUrl"), "read_your_stream_instances");
const gate = new ViewGate();
const running: RunningPa[] = [];
const PARTITIONS = 4;

afterAll(async () => {
  gate.open();
  await Promise.all(running.map((pa) => pa.stop()));
  await database.drop();
}, 60_000);

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call succeeded");
}

describe("consistent_with across instances sharing a topic", () => {
  it("answers on B with a cursor from A's stream, for a partition A processes, once A stored it", async () => {
    await database.create();
    const topic = uniqueTopic("read-your-stream-instances");
    await createTopics(bootstrap, [topic], PARTITIONS);
    const env = {
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: `test-ryos-${randomBytes(4).toString("hex")}`,
      SHARE_PROCESSING: "true",
      DATABASE_URL: database.url,
      // A write attempt waits at the gate far longer than the test: no retry or breaker meanwhile.
      WRITE_ATTEMPT_TIMEOUT: "5m",
    };
    const a = await startPa(bootstrap, env, { viewStore: (store) => gate.wrap(store) });
    running.push(a);
    const b = await startPa(bootstrap, env);
    running.push(b);
    const ofA = () => a.app.hub.processedPartitions(topic);
    const ofB = () => b.app.hub.processedPartitions(topic);
    await waitUntil(
      () => ofA().length > 0 && ofB().length > 0 && ofA().length + ofB().length === PARTITIONS,
      60_000,
      () => `A processes ${ofA()}, B ${ofB()}`,
    );
    const partition = ofA()[0] as number;

    const stream = openStream((signal) =>
      grpcClient(a.baseUrl).streamPayments({ topic, existingLimit: 0 }, { signal }),
    );
    await waitUntil(() => a.app.hub.subscriptionsOf(topic).length === 1);
    gate.shut();
    const payment = createPaymentGenerator({ seed: 2020 }).valid();
    await produce(bootstrap, topic, [{ ...payment, partition }]);
    await stream.waitFor(1);
    stream.close();
    const event = stream.events[0];
    const id = event?.payment?.id ?? "";
    const cursor = event?.cursor ?? "";
    expect(id).toBe(payment.key);
    // Its view write waits at the gate (an idle view gathers records for a few ms first).
    await waitUntil(() => gate.writesHeld > 0);

    // B does not process that partition, and A has not stored it: B must not answer yet.
    const onB = grpcClient(b.baseUrl);
    expect(ofB()).not.toContain(partition);
    expect((await failure(onB.getPayment({ paymentId: id }))).code).toBe(Code.NotFound);
    const late = await failure(onB.listPayments({ topic, consistentWith: cursor }, { timeoutMs: 500 }));
    expect(late.code).toBe(Code.DeadlineExceeded);

    let answered = false;
    const getting = onB
      .getPayment({ paymentId: id, consistentWith: cursor }, { timeoutMs: 30_000 })
      .finally(() => {
        answered = true;
      });
    const listing = onB.listPayments({ topic, consistentWith: cursor, limit: 100 }, { timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(answered).toBe(false);
    gate.open();
    expect((await getting).id).toBe(id);
    expect((await listing).payments.map((p) => p.id)).toEqual([id]);
  }, 120_000);
});
