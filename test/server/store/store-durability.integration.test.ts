import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { StreamStart } from "../../../gen/payment/payment_pb.js";
import { createPaymentGenerator } from "../../../server/demo/payment-generator.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, produce, type TestMessage, uniqueTopic } from "../../support/kafka.js";
import { startPa } from "../../support/pa.js";
import { isolatedPostgres } from "../../support/postgres-schema.js";
import { openStream, waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");
// A schema of its own: other tests store payments with the same (seeded) ids.
const postgres = isolatedPostgres(inject("postgresUrl"), "durability");
const postgresUrl = postgres.url;
beforeAll(() => postgres.create());
afterAll(() => postgres.drop());
const run = promisify(execFile);

function payments(count: number, seed: number): TestMessage[] {
  const generator = createPaymentGenerator({ seed });
  return Array.from({ length: count }, (_, i) => ({ ...generator.valid(), partition: i % 3 }));
}

const engines = [
  ["embedded SQLite", () => ({ DATA_DIR: mkdtempSync(join(tmpdir(), "pa-durable-")) })],
  ["PostgreSQL", () => ({ DATABASE_URL: postgresUrl })],
] as const;

describe.each(engines)("the payment store (%s) through pa", (_engine, storeEnv) => {
  it("keeps every payment across a pa restart", async () => {
    const topic = uniqueTopic("restart");
    await createTopics(bootstrap, [topic]);
    const env = { ...storeEnv(), KAFKA_TOPIC: topic, KAFKA_GROUP_ID: `test-restart-${Date.now()}` };
    const produced = payments(200, 11);
    await produce(bootstrap, topic, produced);

    const first = await startPa(bootstrap, env);
    try {
      const client = grpcClient(first.baseUrl);
      await waitUntil(async () => (await client.listPayments({ topic, limit: 1 })).totalCount === 200);
    } finally {
      await first.stop();
    }

    const second = await startPa(bootstrap, env);
    try {
      const client = grpcClient(second.baseUrl);
      expect((await client.listPayments({ topic, limit: 1 })).totalCount).toBe(200);
      for (const record of produced.slice(0, 20)) {
        const payment = await client.getPayment({ paymentId: String(record.key) });
        expect(payment.source?.topic).toBe(topic);
      }
    } finally {
      await second.stop();
    }
  });
});

describe("a PostgreSQL outage in the middle of a stream", () => {
  it("pauses the view (streams go on), says so on /readyz, and loses nothing when the database is back", async () => {
    const topic = uniqueTopic("pg-outage");
    await createTopics(bootstrap, [topic]);
    const pa = await startPa(bootstrap, { DATABASE_URL: postgresUrl });
    try {
      const client = grpcClient(pa.baseUrl);
      const stream = openStream((signal) =>
        client.streamPayments(
          { topic, existingLimit: 0, startPosition: { case: "start", value: StreamStart.LATEST } },
          { signal },
        ),
      );
      await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1);
      const produced = payments(600, 12);
      await produce(bootstrap, topic, produced.slice(0, 200));
      await stream.waitFor(200);

      await run("bash", ["scripts/postgres.sh", "down"]);
      try {
        await produce(bootstrap, topic, produced.slice(200, 400));
        await waitUntil(async () => (await fetch(`${pa.baseUrl}/readyz`)).status === 503, 15_000);
        const readiness = (await (await fetch(`${pa.baseUrl}/readyz`)).json()) as { reasons: string[] };
        expect(readiness.reasons.join(" ")).toMatch(/payment store .*(unavailable|failing)/);
        // Streams follow the log, not the store: the view waits, the stream goes on.
        await stream.waitFor(400, 15_000);
      } finally {
        await run("bash", ["scripts/postgres.sh", "up"]);
      }
      await produce(bootstrap, topic, produced.slice(400));
      await stream.waitFor(600, 60_000);
      const ids = stream.events.map((e) => e.payment?.id);
      expect(new Set(ids).size).toBe(600);
      expect(new Set(ids)).toEqual(new Set(produced.map((m) => m.key)));
      await waitUntil(
        async () => (await client.listPayments({ topic, limit: 1 })).totalCount === 600,
        30_000,
      );
      await waitUntil(async () => (await fetch(`${pa.baseUrl}/readyz`)).status === 200, 15_000);
      stream.close();
    } finally {
      await pa.stop();
    }
  });
});
