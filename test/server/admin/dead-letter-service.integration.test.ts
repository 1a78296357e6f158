// The DLQ admin service end to end: a real pa consumes real topics on the local broker, dead-letters
// what is poison, and an operator lists and redrives through pa.admin.v1.DeadLetterService.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { KafkaJS } from "@confluentinc/kafka-javascript";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import * as reflection from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  type DeadLetter,
  DeadLetterService,
  type ListDeadLettersResponse,
} from "../../../gen/pa/admin/v1/dead_letter_service_pb.js";
import { readDeadLetters } from "../../../server/admin/dead-letter-reader.js";
import { type App, startApp } from "../../../server/app.js";
import { parseConfig } from "../../../server/config/config.js";
import { connectionConfig } from "../../../server/kafka/client-config.js";
import { DEAD_LETTER_ID_HEADER, headerText } from "../../../server/kafka/dead-letter-producer.js";
import { kafkaDeadLetterSource } from "../../../server/kafka/dead-letter-source.js";
import { TopicAdmin } from "../../../server/kafka/topic-admin.js";
import { createLogger } from "../../../server/observability/logger.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, produce, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";

const bootstrap = inject("kafkaBootstrap");

type AdminClient = Client<typeof DeadLetterService>;

function adminClient(baseUrl: string): AdminClient {
  return createClient(DeadLetterService, createGrpcTransport({ baseUrl }));
}

/** Calls probe until accept says yes; a list reads the whole DLQ, so it is not polled hard. */
async function eventually<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  what: string,
  timeoutMs = 45_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (accept(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

async function highWatermarks(topic: string): Promise<number[]> {
  const admin = new KafkaJS.Kafka({
    kafkaJS: { brokers: [bootstrap], logLevel: KafkaJS.logLevel.NOTHING },
  }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.sort((a, b) => a.partition - b.partition).map((p) => Number(p.high));
  } finally {
    await admin.disconnect();
  }
}

const at = (letters: DeadLetter[]) =>
  letters.map((letter) => `${letter.originalPartition}/${letter.originalOffset}`);
const refsOf = (results: { source?: { originalPartition: number; originalOffset: bigint } }[]) =>
  results.map((result) => `${result.source?.originalPartition}/${result.source?.originalOffset}`).sort();

describe("DeadLetterService", () => {
  const topic = uniqueTopic("dlq-admin");
  const quiet = uniqueTopic("dlq-admin-quiet");
  let pa: RunningPa;
  let client: AdminClient;
  const all = async (): Promise<ListDeadLettersResponse> => client.listDeadLetters({ topic, pageSize: 1000 });

  beforeAll(async () => {
    await createTopics(bootstrap, [topic, quiet], 3);
    const valid = (id: string) =>
      JSON.stringify({ id, provider: "stripe", amount: 5000, currency: "usd", status: "succeeded" });
    await produce(bootstrap, topic, [
      { partition: 0, key: "pay_ok_1", value: valid(`pay_ok_1_${topic}`) },
      { partition: 0, key: "k_json", value: "not json" },
      { partition: 0, key: "pay_ok_2", value: valid(`pay_ok_2_${topic}`) },
      {
        partition: 0,
        key: "k_missing",
        value: JSON.stringify({ provider: "stripe", amount: 1, currency: "usd" }),
      },
    ]);
    await produce(bootstrap, topic, [
      {
        partition: 1,
        key: "k_currency",
        value: JSON.stringify({ id: "pay_xyz", provider: "stripe", amount: 100, currency: "xyz" }),
        headers: { "trace-id": "t-1" },
      },
    ]);
    await produce(bootstrap, topic, [{ partition: 2, key: "k_json2", value: "{" }]);
    pa = await startPa(bootstrap, { KAFKA_TOPIC: topic, TOPIC_ALLOWLIST: "test.*" });
    client = adminClient(pa.baseUrl);
    await eventually(all, (page) => page.totalCount === 4n, "4 dead letters");
  }, 120_000);

  afterAll(async () => {
    await pa?.stop();
  });

  it("lists dead letters page by page, oldest first by source position, with what went wrong", async () => {
    const first = await client.listDeadLetters({ topic, pageSize: 3 });
    expect(first.totalCount).toBe(4n);
    expect(at(first.deadLetters)).toEqual(["0/1", "0/3", "1/0"]);
    expect(first.nextPageToken).not.toBe("");
    const second = await client.listDeadLetters({ topic, pageSize: 3, pageToken: first.nextPageToken });
    expect(at(second.deadLetters)).toEqual(["2/0"]);
    expect(second.nextPageToken).toBe("");

    const [json, missing, currency] = first.deadLetters;
    expect(json).toMatchObject({
      id: `${topic}/0/1`,
      originalTopic: topic,
      key: "k_json",
      value: "not json",
      error: "invalid_json",
      retryCount: 0,
      redriveCount: 0,
      copies: 1,
      dlqPartition: 0,
    });
    expect(json?.reason).not.toBe("");
    expect(missing?.error).toBe("missing_field");
    expect(currency).toMatchObject({ error: "unknown_currency", key: "k_currency", dlqPartition: 1 });
    // The id rides on the DLQ record itself, for whoever reads the DLQ without pa.
    const settings = connectionConfig(pa.config.kafka);
    const admin = new TopicAdmin(settings);
    await admin.connect();
    try {
      const records = await readDeadLetters(topic, { open: kafkaDeadLetterSource(settings), admin });
      expect(records.map((record) => headerText(record.headers, DEAD_LETTER_ID_HEADER)).sort()).toEqual([
        `${topic}/0/1`,
        `${topic}/0/3`,
        `${topic}/1/0`,
        `${topic}/2/0`,
      ]);
    } finally {
      await admin.disconnect();
    }
    const ageMs = Date.now() - Number(json?.deadLetteredAt?.seconds ?? 0n) * 1000;
    expect(ageMs).toBeGreaterThanOrEqual(0);
    expect(ageMs).toBeLessThan(10 * 60_000);
  });

  it("filters by error code, paging within the filter (also over the Connect protocol with JSON)", async () => {
    const json = createClient(
      DeadLetterService,
      createConnectTransport({ baseUrl: pa.baseUrl, httpVersion: "1.1" }),
    );
    const first = await json.listDeadLetters({ topic, pageSize: 1, errors: ["invalid_json"] });
    expect(first.totalCount).toBe(2n);
    expect(at(first.deadLetters)).toEqual(["0/1"]);
    const second = await json.listDeadLetters({
      topic,
      pageSize: 1,
      errors: ["invalid_json"],
      pageToken: first.nextPageToken,
    });
    expect(at(second.deadLetters)).toEqual(["2/0"]);
    expect(second.nextPageToken).toBe("");
    const none = await json.listDeadLetters({ topic, errors: ["invalid_timestamp"] });
    expect(none).toMatchObject({ totalCount: 0n, deadLetters: [], nextPageToken: "" });
  });

  it("collapses several DLQ copies of one source record into one entry", async () => {
    // What a crash between the DLQ acknowledgement and the offset commit leaves behind.
    const copy = JSON.stringify({
      original_topic: topic,
      partition: 0,
      offset: 1,
      key: "k_json",
      value: "not json",
      error: "invalid_json",
      reason: "the value is not JSON",
      retry_count: 0,
      redrive_count: 0,
      timestamp: Math.floor(Date.now() / 1000),
    });
    await produce(bootstrap, `${topic}.dlq`, [{ partition: 0, key: "k_json", value: copy }]);
    const page = await eventually(
      all,
      (p) => p.deadLetters.find((l) => l.originalPartition === 0 && l.originalOffset === 1n)?.copies === 2,
      "the copy to be counted",
    );
    expect(page.totalCount).toBe(4n);
    const entry = page.deadLetters.find((l) => l.originalPartition === 0 && l.originalOffset === 1n);
    // The first copy stands for the entry; the copy (without pa's header) has the same id.
    expect(entry?.dlqOffset).toBe(0n);
    expect(entry?.id).toBe(`${topic}/0/1`);
  });

  it("refuses bad requests with the code and a message that says what to fix", async () => {
    // Thunks: each call starts only when awaited, so none is left rejecting unobserved.
    const cases: [() => Promise<unknown>, Code, RegExp][] = [
      [
        () => client.listDeadLetters({ topic: `${topic}.dlq` }),
        Code.InvalidArgument,
        /name its source topic/,
      ],
      [() => client.listDeadLetters({ topic: "" }), Code.InvalidArgument, /topic is required/],
      [() => client.listDeadLetters({ topic: "test.no-such-topic-here" }), Code.NotFound, /does not exist/],
      [() => client.listDeadLetters({ topic: "other.topic" }), Code.PermissionDenied, /TOPIC_ALLOWLIST/],
      [
        () => client.listDeadLetters({ topic, pageToken: "nonsense" }),
        Code.InvalidArgument,
        /next_page_token/,
      ],
      [() => client.listDeadLetters({ topic, pageSize: -1 }), Code.InvalidArgument, /page_size/],
      [
        () => client.listDeadLetters({ topic, errors: ["Not A Code"] }),
        Code.InvalidArgument,
        /not an error code/,
      ],
      [() => client.redriveDeadLetters({ topic }), Code.InvalidArgument, /say what to redrive/],
      [
        () =>
          client.redriveDeadLetters({
            topic: "test.no-such-topic-here",
            selection: { case: "all", value: true },
          }),
        Code.NotFound,
        /does not exist/,
      ],
      [
        () =>
          client.redriveDeadLetters({
            topic,
            selection: { case: "range", value: { partition: 0, fromOffset: 5n, toOffset: 1n } },
          }),
        Code.InvalidArgument,
        /is after range.to_offset/,
      ],
    ];
    for (const [call, code, message] of cases) {
      const error = await failure(call());
      expect({ code: Code[error.code], message: error.rawMessage }).toMatchObject({
        code: Code[code],
        message: expect.stringMatching(message),
      });
    }
  });

  it("is described by server reflection, so grpcurl can call it", async () => {
    const reflect = createClient(reflection.ServerReflection, createGrpcTransport({ baseUrl: pa.baseUrl }));
    async function* ask() {
      yield { messageRequest: { case: "listServices" as const, value: "*" } };
      yield { messageRequest: { case: "fileContainingSymbol" as const, value: DeadLetterService.typeName } };
    }
    const answers = [];
    for await (const answer of reflect.serverReflectionInfo(ask())) answers.push(answer.messageResponse);
    const [services, file] = answers;
    expect(services?.case === "listServicesResponse" && services.value.service.map((s) => s.name)).toContain(
      DeadLetterService.typeName,
    );
    expect(file?.case).toBe("fileDescriptorResponse");
  });

  it("treats a topic without a DLQ as one with no dead letters", async () => {
    expect(await client.listDeadLetters({ topic: quiet })).toMatchObject({ totalCount: 0n, deadLetters: [] });
    expect(
      await client.redriveDeadLetters({ topic: quiet, selection: { case: "all", value: true } }),
    ).toMatchObject({ redriven: [], skipped: [] });
  });

  it("with dry_run reports what it would redrive and produces nothing", async () => {
    const before = await highWatermarks(topic);
    const report = await client.redriveDeadLetters({
      topic,
      selection: { case: "all", value: true },
      dryRun: true,
    });
    expect(refsOf(report.redriven)).toEqual(["0/1", "0/3", "1/0", "2/0"]);
    expect(report.redriven.every((r) => r.newOffset === undefined && r.newPartition === undefined)).toBe(
      true,
    );
    expect(report.skipped).toEqual([]);
    expect(await highWatermarks(topic)).toEqual(before);
  });

  it("redrives a range to the source partition; the poison record fails again as a letter with redrive_count 1", async () => {
    const before = await highWatermarks(topic);
    const report = await client.redriveDeadLetters({
      topic,
      selection: { case: "range", value: { partition: 0, fromOffset: 0n, toOffset: 2n } },
    });
    expect(refsOf(report.redriven)).toEqual(["0/1"]);
    expect(report.redriven[0]).toMatchObject({ newPartition: 0, newOffset: BigInt(before[0] ?? -1) });
    const page = await eventually(all, (p) => p.totalCount === 5n, "the redriven record to fail again");
    expect(
      page.deadLetters.find((l) => l.originalPartition === 0 && l.originalOffset === BigInt(before[0] ?? -1)),
    ).toMatchObject({ error: "invalid_json", key: "k_json", redriveCount: 1, copies: 1 });
    // The letter it came from keeps its copies, and its receipt says where it went.
    const original = page.deadLetters.find((l) => l.originalPartition === 0 && l.originalOffset === 1n);
    expect(original).toMatchObject({
      copies: 2,
      lastRedrive: { partition: 0, offset: BigInt(before[0] ?? -1) },
      failedAgainAs: { originalPartition: 0, originalOffset: BigInt(before[0] ?? -1) },
    });
    const redrivenAtMs = Number(original?.lastRedrive?.redrivenAt?.seconds ?? 0n) * 1000;
    expect(Math.abs(Date.now() - redrivenAtMs)).toBeLessThan(10 * 60_000);
  });

  it("redrives chosen refs, reports refs that name nothing, and marks the republished record", async () => {
    const before = await highWatermarks(topic);
    const report = await client.redriveDeadLetters({
      topic,
      selection: {
        case: "refs",
        value: {
          refs: [
            { originalPartition: 2, originalOffset: 0n },
            { originalPartition: 2, originalOffset: 99n },
          ],
        },
      },
    });
    expect(report.redriven).toHaveLength(1);
    expect(report.redriven[0]).toMatchObject({ newPartition: 2, newOffset: BigInt(before[2] ?? -1) });
    expect(refsOf(report.skipped)).toEqual(["2/99"]);
    expect(report.skipped[0]?.detail).toMatch(/no dead letter for partition 2 offset 99/);
    await eventually(all, (p) => p.totalCount === 6n, "the redriven record to fail again");

    // The raw DLQ record of the second failure says where it was redriven from.
    const settings = connectionConfig(pa.config.kafka);
    const admin = new TopicAdmin(settings);
    await admin.connect();
    try {
      const records = await readDeadLetters(topic, { open: kafkaDeadLetterSource(settings), admin });
      const again = records.find((r) => r.source.partition === 2 && r.source.offset === before[2]);
      const headers = Object.assign({}, ...(again?.headers ?? [])) as Record<string, Buffer>;
      expect(String(headers["pa-redrive-count"])).toBe("1");
      expect(String(headers["pa-redriven-from"])).toBe(`${topic}.dlq/2/0`);
      expect(again?.redriveCount).toBe(1);
    } finally {
      await admin.disconnect();
    }
  });

  it("redrives all but what was redriven before and failed again; keeps the source's headers", async () => {
    const report = await client.redriveDeadLetters({ topic, selection: { case: "all", value: true } });
    expect(refsOf(report.redriven)).toEqual(["0/3", "1/0"]);
    const skipped = Object.fromEntries(
      report.skipped.map((s) => [`${s.source?.originalPartition}/${s.source?.originalOffset}`, s.detail]),
    );
    expect(Object.keys(skipped)).toHaveLength(4);
    expect(skipped["0/1"]).toMatch(/failed again as partition 0 offset 4/);
    expect(skipped["2/0"]).toMatch(/failed again as partition 2 offset 1/);
    expect(skipped["0/4"]).toMatch(/already redriven once and failed again \(invalid_json: .*force/);
    expect(skipped["2/1"]).toMatch(/already redriven once/);
    const listed = await all();
    const original = listed.deadLetters.find((l) => l.originalPartition === 2 && l.originalOffset === 0n);
    expect(original?.failedAgainAs).toMatchObject({ originalPartition: 2, originalOffset: 1n });

    // At once again: what was just redriven has a receipt, so nothing is republished twice (their
    // second failures, 0/5 and 1/1, may already be listed too, and are skipped as well).
    const again = await client.redriveDeadLetters({ topic, selection: { case: "all", value: true } });
    expect(again.redriven).toEqual([]);
    expect(refsOf(again.skipped)).toEqual(expect.arrayContaining(["0/1", "0/3", "0/4", "1/0", "2/0", "2/1"]));

    const page = await eventually(all, (p) => p.totalCount === 8n, "both to fail again");
    const currencyAgain = page.deadLetters.find((l) => l.originalPartition === 1 && l.originalOffset === 1n);
    expect(currencyAgain).toMatchObject({ error: "unknown_currency", key: "k_currency", redriveCount: 1 });
    const settings = connectionConfig(pa.config.kafka);
    const admin = new TopicAdmin(settings);
    await admin.connect();
    try {
      const records = await readDeadLetters(topic, { open: kafkaDeadLetterSource(settings), admin });
      const again = records.find((r) => r.source.partition === 1 && r.source.offset === 1);
      const headers = Object.assign({}, ...(again?.headers ?? [])) as Record<string, Buffer>;
      expect(String(headers["trace-id"])).toBe("t-1");
      expect(String(headers["pa-dlq-error"])).toBe("unknown_currency");
    } finally {
      await admin.disconnect();
    }
  });

  it("redrives a record that failed again only with force, and counts the redrives", async () => {
    const ref = { originalPartition: 2, originalOffset: 1n };
    const refused = await client.redriveDeadLetters({
      topic,
      selection: { case: "refs", value: { refs: [ref] } },
    });
    expect(refused.redriven).toEqual([]);
    expect(refused.skipped[0]?.detail).toMatch(/with force/);
    const forced = await client.redriveDeadLetters({
      topic,
      selection: { case: "refs", value: { refs: [ref] } },
      force: true,
    });
    expect(forced.redriven).toHaveLength(1);
    const landed = forced.redriven[0]?.newOffset;
    const page = await eventually(all, (p) => p.totalCount === 9n, "the forced redrive to fail again");
    expect(
      page.deadLetters.find((l) => l.originalPartition === 2 && l.originalOffset === landed),
    ).toMatchObject({
      redriveCount: 2,
    });
  });
});

const postgresUrl = inject("postgresUrl");

describe.each([
  ["the embedded store", (): Record<string, string> => ({})],
  ["PostgreSQL", (): Record<string, string> => ({ DATABASE_URL: postgresUrl })],
])("a redriven record that pa now accepts, with %s", (_, storeEnv) => {
  const topic = uniqueTopic("dlq-admin-fixed");
  const groupId = `test-dlq-fixed-${randomBytes(4).toString("hex")}`;
  const paymentId = `pay_units_${randomBytes(4).toString("hex")}`;
  let pa: RunningPa | undefined;

  afterAll(async () => {
    await pa?.stop();
  });

  it("ends up in the store once a restarted pa reads its amounts in the right units", async () => {
    await createTopics(bootstrap, [topic], 1);
    // The PoC's producer writes Stripe amounts in major units; pa's default reads them as minor.
    await produce(bootstrap, topic, [
      {
        key: paymentId,
        value: JSON.stringify({
          id: paymentId,
          provider: "stripe",
          amount: 45.99,
          currency: "usd",
          status: "succeeded",
        }),
      },
    ]);
    pa = await startPa(bootstrap, { ...storeEnv(), KAFKA_TOPIC: topic, KAFKA_GROUP_ID: groupId });
    const first = adminClient(pa.baseUrl);
    const listed = await eventually(
      () => first.listDeadLetters({ topic }),
      (p) => p.totalCount === 1n,
      "the dead letter",
    );
    expect(listed.deadLetters[0]).toMatchObject({ error: "invalid_amount", key: paymentId });
    expect(listed.deadLetters[0]?.reason).toMatch(/AMOUNT_UNITS/);
    await pa.stop();

    // Same group: the restarted pa resumes after the dead-lettered record instead of re-reading it.
    pa = await startPa(bootstrap, {
      ...storeEnv(),
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: groupId,
      AMOUNT_UNITS: "stripe=major",
    });
    const admin = adminClient(pa.baseUrl);
    const payments = grpcClient(pa.baseUrl);
    const report = await admin.redriveDeadLetters({ topic, selection: { case: "all", value: true } });
    expect(report.redriven).toHaveLength(1);
    expect(report.redriven[0]).toMatchObject({ newPartition: 0, newOffset: 1n });

    const payment = await eventually(
      () => payments.getPayment({ paymentId }).catch(() => undefined),
      (found) => found !== undefined,
      "the redriven payment in the store",
    );
    expect(payment).toMatchObject({ amountMinor: 4599n, currency: "USD" });
    // Stored from the redriven record, not the original.
    expect(payment?.source?.offset).toBe(1n);
    const [letter] = (await admin.listDeadLetters({ topic })).deadLetters;
    expect(letter).toMatchObject({ copies: 1, lastRedrive: { partition: 0, offset: 1n } });
    expect(letter?.failedAgainAs).toBeUndefined();
    const again = await admin.redriveDeadLetters({ topic, selection: { case: "all", value: true } });
    expect(again.redriven).toEqual([]);
    expect(again.skipped[0]?.detail).toMatch(
      /already redriven at .* to partition 0 offset 1; redrive it with force/,
    );
  });
});

describe("the redrive log, and redrives at the same time", () => {
  const topic = uniqueTopic("dlq-admin-log");
  const lines: {
    msg: string;
    topic?: string;
    redriven?: number;
    skipped?: number;
    audit?: boolean;
    action?: string;
  }[] = [];
  let app: App | undefined;

  afterAll(async () => {
    await app?.stop();
  });

  it("has one line per call saying what it did; concurrent redrives republish a letter once", async () => {
    await createTopics(bootstrap, [topic], 1);
    await produce(bootstrap, topic, [
      { key: "a", value: "not json" },
      { key: "b", value: "not json either" },
    ]);
    const capture = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const config = parseConfig({
      KAFKA_BROKERS: bootstrap,
      KAFKA_GROUP_ID: `test-${randomBytes(4).toString("hex")}`,
      KAFKA_TOPIC: topic,
      DATA_DIR: mkdtempSync(join(tmpdir(), "pa-test-data-")),
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: "0",
      SHUTDOWN_TIMEOUT: "3s",
    });
    app = await startApp(config, createLogger({ level: "info", format: "json" }, capture));
    await app.ready;
    const client = adminClient(`http://127.0.0.1:${app.address.port}`);
    await eventually(
      () => client.listDeadLetters({ topic }),
      (p) => p.totalCount === 2n,
      "2 dead letters",
    );

    await client.redriveDeadLetters({ topic, selection: { case: "all", value: true }, dryRun: true });
    await client.redriveDeadLetters({
      topic,
      selection: {
        case: "refs",
        value: {
          refs: [
            { originalPartition: 0, originalOffset: 0n },
            { originalPartition: 0, originalOffset: 7n },
          ],
        },
      },
    });
    const redrives = lines.filter((line) => !line.audit && line.msg.includes("Redrive"));
    expect(redrives.map((line) => line.msg)).toEqual([
      `[DLQ:${topic}] Redrive of all (dry run): 2 would be redriven, 0 skipped`,
      `[DLQ:${topic}] Redrive of 2 refs: 1 redriven, 1 skipped`,
    ]);
    expect(redrives[1]).toMatchObject({ topic, redriven: 1, skipped: 1 });
    // And one audit line per admin call, with who, what and the result.
    const audits = lines.filter((line) => line.audit && line.action === "RedriveDeadLetters");
    expect(audits).toEqual([
      expect.objectContaining({
        identity: { name: "anonymous", kind: "anonymous" },
        topic,
        requested: { all: true, dryRun: true, force: false },
        touched: { redriven: 2, skipped: 0, redrivenRefs: ["0@0", "0@1"] },
        result: "ok",
      }),
      expect.objectContaining({
        requested: { refs: ["0@0", "0@7"], dryRun: false, force: false },
        touched: { redriven: 1, skipped: 1, redrivenRefs: ["0@0"] },
        result: "ok",
      }),
    ]);
    expect(lines.some((line) => line.audit && line.action === "ListDeadLetters")).toBe(true);

    // Two redrives of everything at once (a double click): the letter left is republished once.
    const both = await Promise.all(
      [1, 2].map(() => client.redriveDeadLetters({ topic, selection: { case: "all", value: true } })),
    );
    expect(both.flatMap((report) => refsOf(report.redriven))).toEqual(["0/1"]);
  });
});
