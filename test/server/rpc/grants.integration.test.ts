// Grants on every RPC of every protocol, against a running pa in token mode with the real broker
// and PostgreSQL: which topics an API key may stream, query and see (TOPIC_ALLOWLIST and its
// `read:` globs), what a tenant-bound key sees, PII masking with and without `pii` (streams on the
// native gRPC path, gRPC-Web and Connect; the existing snapshot; GetPayment and ListPayments), the
// dead-letter service's `admin` grant with its audit lines, and a log that holds none of the
// e-mails, keys or passwords the run used.
import { randomBytes, randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type PaymentEvent, StreamStart } from "../../../gen/payment/payment_pb.js";
import { curlConnect, newApiKey } from "../../support/auth.js";
import { pocClient } from "../../support/clients.js";
import {
  deadLetterClient,
  type Protocol,
  paymentClient,
  type SecuredPa,
  startSecuredPa,
  token,
} from "../../support/identities.js";
import { createTopics, produce } from "../../support/kafka.js";
import { openStream, streamFailure, waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");
const postgresUrl = inject("postgresUrl");
const protocols: Protocol[] = ["grpc", "grpc-web", "connect"];

const run = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
const pay = `grants.${run}.payments`;
const ord = `grants.${run}.orders`;
const users = `grants.${run}.users`;
const id = (name: string) => `${run}-${name}`;

const payReader = token("pay-reader", `read:grants.${run}.pay*`);
const piiReader = token("pii-reader", `read:grants.${run}.* pii`);
const tenantM1 = token("tenant-m1", `read:grants.${run}.*`, "m1");
const operator = token("operator", `admin read:${ord}`);
const piiOperator = token("pii-operator", `admin pii read:${ord}`);
const tokens = [payReader, piiReader, tenantM1, operator, piiOperator];
const databasePassword = `pw-${randomBytes(8).toString("hex")}`;

interface Spec {
  name: string;
  email: string;
  merchant?: string;
}

function record({ name, email, merchant }: Spec) {
  return {
    key: id(name),
    value: JSON.stringify({
      id: id(name),
      provider: "stripe",
      amount: 1250,
      currency: "eur",
      status: "succeeded",
      customer_email: email,
      metadata: {
        ...(merchant ? { merchant_id: merchant } : {}),
        email: `private.${email}`,
        phone: "+33 6 12 34 56 78",
        order_ref: `ref-${name}`,
      },
    }),
  };
}

const stored: Spec[] = [
  { name: "p1", email: "ann.lee@example.com", merchant: "m1" },
  { name: "p2", email: "bob.ray@example.com", merchant: "m2" },
  { name: "p3", email: "carl.oz@example.com" },
];
const live: Spec[] = [
  { name: "p4", email: "dana.ko@example.com", merchant: "m1" },
  { name: "p5", email: "eve.sun@example.com", merchant: "m2" },
  { name: "p6", email: "finn.ash@example.com", merchant: "m1" },
];
const order: Spec = { name: "o1", email: "gus.ho@example.com", merchant: "m1" };
const emails = [
  ...[...stored, ...live, order].flatMap((spec) => [spec.email, `private.${spec.email}`]),
  "ivy.ro@example.com",
  "hank.po@example.com",
];

const ids = (events: readonly PaymentEvent[]) => events.map((event) => event.payment?.id);

function expectMasked(event: { customerEmail: string; metadata: Record<string, string> } | undefined) {
  expect(event?.customerEmail).toMatch(/^[a-z]\*\*\*@example\.com$/);
  expect(Object.keys(event?.metadata ?? {}).sort()).not.toContain("email");
  expect(Object.keys(event?.metadata ?? {})).not.toContain("phone");
  expect(event?.metadata.order_ref).toMatch(/^ref-/);
}

function expectUnmasked(event: { customerEmail: string; metadata: Record<string, string> } | undefined) {
  expect(event?.customerEmail).not.toContain("***");
  expect(event?.metadata.email).toBe(`private.${event?.customerEmail}`);
  expect(event?.metadata.phone).toBe("+33 6 12 34 56 78");
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

describe("grants on every RPC", () => {
  let pa: SecuredPa;
  const schema = `pa_grants_${randomUUID().replaceAll("-", "").slice(0, 12)}`;

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const url = new URL(postgresUrl);
    url.password = databasePassword;
    url.searchParams.set("options", `-c search_path=${schema}`);

    await createTopics(bootstrap, [pay, ord, users], 1);
    await produce(bootstrap, pay, stored.map(record));
    // Dead letters whose key and reason would carry e-mails into pa's log.
    await produce(bootstrap, ord, [
      record(order),
      { key: id("poison"), value: "not a payment" },
      { key: "ivy.ro@example.com", value: JSON.stringify("hank.po@example.com") },
    ]);
    await produce(bootstrap, users, [
      { key: "u1", value: JSON.stringify({ id: "u1", email: "user@example.com" }) },
    ]);
    pa = await startSecuredPa(bootstrap, tokens, {
      KAFKA_TOPIC: `${pay},${ord}`,
      TOPIC_ALLOWLIST: `${pay},${ord}`,
      TENANT_METADATA_KEY: "merchant_id",
      PII_METADATA_KEYS: "email,phone",
      DATABASE_URL: url.toString(),
    });
    const client = paymentClient(pa.baseUrl, "connect", piiReader.key);
    await waitUntil(
      async () => (await client.listPayments({ limit: 10 })).totalCount === 4,
      45_000,
      () => "pa to store the 4 payments",
    );
  }, 120_000);

  afterAll(async () => {
    await pa?.stop();
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  describe("topics", () => {
    it.each(protocols)(
      "streams a topic its read glob grants; refuses one without a grant (%s)",
      async (protocol) => {
        const client = paymentClient(pa.baseUrl, protocol, payReader.key);
        const stream = openStream((signal) =>
          client.streamPayments(
            { topic: pay, startPosition: { case: "start", value: StreamStart.EARLIEST } },
            { signal },
          ),
        );
        await stream.waitFor(3);
        stream.close();
        expect(ids(stream.events)).toEqual(stored.map((s) => id(s.name)));

        const denied = await streamFailure(client.streamPayments({ topic: ord }));
        expect(denied.code).toBe(Code.PermissionDenied);
        expect(denied.rawMessage).toContain(`identity "pay-reader" has no "read:${ord}" grant`);
        expect(denied.rawMessage).toContain(`its scope is "read:grants.${run}.pay*"`);
        // A grant never widens TOPIC_ALLOWLIST.
        const outside = await streamFailure(
          paymentClient(pa.baseUrl, protocol, piiReader.key).streamPayments({ topic: users }),
        );
        expect(outside.code).toBe(Code.PermissionDenied);
        expect(outside.rawMessage).toContain("TOPIC_ALLOWLIST");
      },
    );

    it("GetTopics shows each identity only the topics it may see", async () => {
      const topicsOf = async (key: string) =>
        (await paymentClient(pa.baseUrl, "grpc-web", key).getTopics({})).topics.filter((t) =>
          t.includes(run),
        );
      expect(await topicsOf(payReader.key)).toEqual([pay]);
      expect((await topicsOf(piiReader.key)).sort()).toEqual([ord, pay].sort());
      expect(await topicsOf(operator.key)).toEqual([ord]);
    });
  });

  describe("streams: masking and tenants on every protocol", () => {
    it("masks the existing snapshot and live events for an identity without pii, only its tenant's for a bound one", async () => {
      const open = (key: string, protocol: Protocol) => {
        const client = paymentClient(pa.baseUrl, protocol, key);
        return openStream((signal) => client.streamPayments({ topic: pay, existingLimit: 10 }, { signal }));
      };
      const streams = protocols.flatMap((protocol) => [
        { who: "masked", protocol, stream: open(payReader.key, protocol) },
        { who: "pii", protocol, stream: open(piiReader.key, protocol) },
        { who: "tenant", protocol, stream: open(tenantM1.key, protocol) },
      ]);
      for (const { who, stream } of streams) await stream.waitFor(who === "tenant" ? 1 : 3);
      // Every stream is attached before the live records are produced (its snapshot came).
      await produce(bootstrap, pay, live.map(record));
      for (const { who, stream } of streams) await stream.waitFor(who === "tenant" ? 3 : 6);
      for (const { who, protocol, stream } of streams) {
        stream.close();
        const label = `${who} over ${protocol}`;
        const types = stream.events.map((event) => event.eventType);
        if (who === "tenant") {
          expect(ids(stream.events), label).toEqual([id("p1"), id("p4"), id("p6")]);
          expect(types, label).toEqual(["existing", "new", "new"]);
        } else {
          expect(ids(stream.events), label).toEqual([...stored, ...live].map((s) => id(s.name)));
          expect(types, label).toEqual(["existing", "existing", "existing", "new", "new", "new"]);
        }
        for (const event of stream.events) {
          if (who === "pii") expectUnmasked(event.payment);
          else expectMasked(event.payment);
        }
      }
      expect(streams.find((s) => s.who === "masked")?.stream.events[0]?.payment?.customerEmail).toBe(
        "a***@example.com",
      );
    }, 60_000);
  });

  describe("streams read from Kafka for one subscriber (catch-up)", () => {
    it.each(protocols)("filters by tenant and masks from the earliest record too (%s)", async (protocol) => {
      const client = paymentClient(pa.baseUrl, protocol, tenantM1.key);
      const stream = openStream((signal) =>
        client.streamPayments(
          { topic: pay, existingLimit: 0, startPosition: { case: "start", value: StreamStart.EARLIEST } },
          { signal },
        ),
      );
      await stream.waitFor(3);
      stream.close();
      expect(ids(stream.events)).toEqual([id("p1"), id("p4"), id("p6")]);
      for (const event of stream.events) expectMasked(event.payment);
    });
  });

  describe("unary RPCs", () => {
    it("GetPayment masks without pii, and answers one it may not see exactly like a missing one", async () => {
      await waitUntil(
        async () =>
          (await paymentClient(pa.baseUrl, "connect", piiReader.key).listPayments({ limit: 1 }))
            .totalCount === 7,
      );
      for (const protocol of protocols) {
        const masked = await paymentClient(pa.baseUrl, protocol, payReader.key).getPayment({
          paymentId: id("p1"),
        });
        expectMasked(masked);
        expect(masked.customerEmail).toBe("a***@example.com");
        const plain = await paymentClient(pa.baseUrl, protocol, piiReader.key).getPayment({
          paymentId: id("p1"),
        });
        expectUnmasked(plain);
        expect(plain.customerEmail).toBe("ann.lee@example.com");

        const tenant = paymentClient(pa.baseUrl, protocol, tenantM1.key);
        expect((await tenant.getPayment({ paymentId: id("p4") })).metadata.merchant_id).toBe("m1");
        const missing = await failure(tenant.getPayment({ paymentId: id("nobody") }));
        const otherTenant = await failure(tenant.getPayment({ paymentId: id("p2") }));
        const noTenant = await failure(tenant.getPayment({ paymentId: id("p3") }));
        const hiddenTopic = await failure(
          paymentClient(pa.baseUrl, protocol, payReader.key).getPayment({ paymentId: id("o1") }),
        );
        for (const [error, name] of [
          [missing, "nobody"],
          [otherTenant, "p2"],
          [noTenant, "p3"],
          [hiddenTopic, "o1"],
        ] as const) {
          expect(error.code, name).toBe(Code.NotFound);
          expect(error.rawMessage, name).toBe(`payment "${id(name)}" was not found`);
        }
      }
    });

    it("ListPayments lists and counts only visible topics and the tenant's payments, masked without pii", async () => {
      const own = (list: { payments: { id: string }[] }) =>
        list.payments.map((p) => p.id).filter((p) => p.startsWith(run));
      for (const protocol of protocols) {
        const reader = paymentClient(pa.baseUrl, protocol, payReader.key);
        const readerList = await reader.listPayments({ limit: 100 });
        expect(own(readerList).sort()).toEqual([...stored, ...live].map((s) => id(s.name)).sort());
        expect(readerList.totalCount).toBe(6);
        for (const payment of readerList.payments) expectMasked(payment);

        const tenant = paymentClient(pa.baseUrl, protocol, tenantM1.key);
        const page = await tenant.listPayments({ limit: 2 });
        expect(page.totalCount).toBe(4);
        const all = await tenant.listPayments({ limit: 100 });
        expect(own(all).sort()).toEqual([id("o1"), id("p1"), id("p4"), id("p6")].sort());
        const tenantPay = await tenant.listPayments({ topic: pay, limit: 100 });
        expect(tenantPay.totalCount).toBe(3);

        const plain = await paymentClient(pa.baseUrl, protocol, piiReader.key).listPayments({
          topic: ord,
          limit: 10,
        });
        expect(plain.totalCount).toBe(1);
        expectUnmasked(plain.payments[0]);

        const denied = await failure(reader.listPayments({ topic: ord }));
        expect(denied.code).toBe(Code.PermissionDenied);
        expect(denied.rawMessage).toContain(`no "read:${ord}" grant`);
        const byEmail = await failure(reader.listPayments({ customerEmail: "ann.lee@example.com" }));
        expect(byEmail.code).toBe(Code.PermissionDenied);
        expect(byEmail.rawMessage).toContain('no "pii" grant, which filtering by customer_email needs');
      }
    });
  });

  describe("the PoC's grpc-js client and curl", () => {
    it("grpc-js with the key in metadata: a tenant's masked snapshot; a topic without a grant refused", async () => {
      const poc = pocClient(pa.port);
      const metadata = (key: string) => {
        const m = new grpc.Metadata();
        m.set("authorization", `Bearer ${key}`);
        return m;
      };
      // biome-ignore lint/suspicious/noExplicitAny: the PoC's client is untyped.
      const events: any[] = [];
      const stream = poc.streamPayments({ topic: pay, provider: 0, status: 0 }, metadata(tenantM1.key));
      stream.on("data", (event: unknown) => events.push(event));
      stream.on("error", () => {});
      await waitUntil(() => events.length >= 3);
      stream.cancel();
      expect(events.map((e) => e.payment.id)).toEqual([id("p1"), id("p4"), id("p6")]);
      for (const event of events) expectMasked(event.payment);

      const denied = await new Promise<grpc.ServiceError>((resolve) => {
        const refused = poc.streamPayments({ topic: ord, provider: 0, status: 0 }, metadata(payReader.key));
        refused.on("data", () => {});
        refused.on("error", resolve);
      });
      expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
      // Connect percent-encodes grpc-message with encodeURIComponent; grpc-js decodes it with
      // decodeURI, which leaves ":" and "," encoded.
      expect(decodeURIComponent(denied.details)).toContain(`no "read:${ord}" grant`);
      poc.close();
    });

    it("curl with the key in the authorization header: masked, and NOT_FOUND for another tenant's payment", async () => {
      const call = async (key: string, paymentId: string) => {
        const answer = await curlConnect(
          pa.baseUrl,
          "payment.PaymentService/GetPayment",
          { paymentId },
          { headers: { authorization: `Bearer ${key}` } },
        );
        return JSON.parse(answer.body);
      };
      const masked = await call(payReader.key, id("p2"));
      expect(masked.customerEmail).toBe("b***@example.com");
      expect(masked.metadata).toEqual({ merchant_id: "m2", order_ref: "ref-p2" });
      expect((await call(piiReader.key, id("p2"))).customerEmail).toBe("bob.ray@example.com");
      expect(await call(tenantM1.key, id("p2"))).toEqual({
        code: "not_found",
        message: `payment "${id("p2")}" was not found`,
      });
    });
  });

  describe("the dead-letter service", () => {
    it("needs admin and the topic; each call, allowed or denied, writes one audit line", async () => {
      const denied = await failure(
        deadLetterClient(pa.baseUrl, piiReader.key).listDeadLetters({ topic: ord }),
      );
      expect(denied.code).toBe(Code.PermissionDenied);
      expect(denied.rawMessage).toContain('identity "pii-reader" has no "admin" grant');
      const admin = deadLetterClient(pa.baseUrl, operator.key);
      const otherTopic = await failure(admin.listDeadLetters({ topic: pay }));
      expect(otherTopic.code).toBe(Code.PermissionDenied);
      expect(otherTopic.rawMessage).toContain(`no "read:${pay}" grant`);

      let listed = await admin.listDeadLetters({ topic: ord });
      await waitUntil(async () => {
        listed = await admin.listDeadLetters({ topic: ord });
        return listed.totalCount === 2n;
      });
      expect(listed.deadLetters.map((letter) => letter.originalOffset)).toEqual([1n, 2n]);
      // Without pii, a dead letter comes without the raw record, and its reason without e-mails.
      const withEmail = listed.deadLetters[1];
      expect([withEmail?.key, withEmail?.value]).toEqual(["", ""]);
      expect(withEmail?.reason).toContain('a string ("***@example.com")');
      const raw = await deadLetterClient(pa.baseUrl, piiOperator.key).listDeadLetters({ topic: ord });
      expect(raw.deadLetters[1]?.key).toBe("ivy.ro@example.com");
      expect(raw.deadLetters[1]?.value).toBe('"hank.po@example.com"');
      const dryRun = await admin.redriveDeadLetters({
        topic: ord,
        selection: { case: "all", value: true },
        dryRun: true,
      });
      expect(dryRun.redriven).toHaveLength(2);

      const audits = pa.logLines.map((line) => JSON.parse(line)).filter((line) => line.audit === true);
      expect(audits).toContainEqual(
        expect.objectContaining({
          level: 30,
          identity: { name: "pii-reader", kind: "token" },
          action: "ListDeadLetters",
          topic: ord,
          result: "denied",
          code: "PERMISSION_DENIED",
        }),
      );
      expect(audits).toContainEqual(
        expect.objectContaining({
          identity: { name: "operator", kind: "token" },
          action: "ListDeadLetters",
          topic: pay,
          result: "denied",
        }),
      );
      expect(audits).toContainEqual(
        expect.objectContaining({
          identity: { name: "operator", kind: "token" },
          action: "ListDeadLetters",
          topic: ord,
          result: "ok",
          touched: { returned: 2, totalCount: "2" },
        }),
      );
      expect(audits).toContainEqual(
        expect.objectContaining({
          identity: { name: "operator", kind: "token" },
          action: "RedriveDeadLetters",
          topic: ord,
          requested: { all: true, dryRun: true, force: false },
          touched: { redriven: 2, skipped: 0, redrivenRefs: ["0@1", "0@2"] },
          result: "ok",
        }),
      );
    });
  });

  describe("the log", () => {
    it("holds none of the e-mails, API keys or passwords this run used", async () => {
      // A failed authentication too: its key must not be logged either.
      const forged = newApiKey();
      const unary = await failure(paymentClient(pa.baseUrl, "connect", forged).listPayments({ topic: pay }));
      expect(unary.code).toBe(Code.Unauthenticated);
      const stream = await streamFailure(
        paymentClient(pa.baseUrl, "grpc", forged).streamPayments({ topic: pay }),
      );
      expect(stream.code).toBe(Code.Unauthenticated);
      const admin = await failure(deadLetterClient(pa.baseUrl, forged).listDeadLetters({ topic: ord }));
      expect(admin.code).toBe(Code.Unauthenticated);
      const audits = pa.logLines.map((line) => JSON.parse(line)).filter((line) => line.audit === true);
      expect(audits.at(-1)).toMatchObject({
        action: "ListDeadLetters",
        result: "denied",
        code: "UNAUTHENTICATED",
      });
      const log = pa.logLines.join("\n");
      expect(log).toContain("[DLQ:"); // the run did log, at debug level
      for (const secret of [...emails, ...tokens.map((t) => t.key), forged, databasePassword]) {
        expect(log, secret).not.toContain(secret);
      }
      expect(log).not.toMatch(/[a-z]+\.[a-z]+@example\.com/);
    });
  });
});
