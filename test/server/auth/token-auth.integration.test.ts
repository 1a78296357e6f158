// AUTH_MODE=token end to end: API keys from AUTH_TOKENS_FILE, sent as `authorization: Bearer` by
// every kind of client, on every service; revocation by rewriting the file (watched) and by the
// app's reload (SIGHUP), with open streams left alone.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Health } from "../../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { DeadLetterService } from "../../../gen/pa/admin/v1/dead_letter_service_pb.js";
import { PaymentService, StreamStart } from "../../../gen/payment/payment_pb.js";
import {
  bearer,
  everyClient,
  newApiKey,
  sha256Hex,
  type TokenEntryInput,
  writeTokensFile,
} from "../../support/auth.js";
import { grpcClient } from "../../support/clients.js";
import { createTopics, produce, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { openStream, waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");
const root = fileURLToPath(new URL("../../..", import.meta.url));
const run = promisify(execFile);

const payment = (id: string) => ({
  key: id,
  value: JSON.stringify({ id, provider: "stripe", amount: 100, currency: "usd", status: "succeeded" }),
});

describe("AUTH_MODE=token", () => {
  const dir = mkdtempSync(join(tmpdir(), "pa-tokens-"));
  const tokensPath = join(dir, "tokens.yaml");
  const alice = newApiKey();
  const bob = newApiKey();
  const entries: TokenEntryInput[] = [
    { name: "alice", sha256: sha256Hex(alice), scope: "read:* admin" },
    { name: "bob", sha256: sha256Hex(bob), scope: "read:test.*" },
  ];
  const topic = uniqueTopic("token-auth");
  let pa: RunningPa;

  beforeAll(async () => {
    writeTokensFile(tokensPath, entries);
    await createTopics(bootstrap, [topic]);
    await produce(bootstrap, topic, [payment("pay_token_1")]);
    pa = await startPa(bootstrap, { AUTH_MODE: "token", AUTH_TOKENS_FILE: tokensPath });
  });
  afterAll(async () => {
    await pa?.stop();
  });

  const clients = () => everyClient(pa.baseUrl, pa.port, topic);

  it("serves a valid API key on every client and protocol", async () => {
    for (const [client, call] of Object.entries(clients())) {
      expect({ client, ...(await call(alice)) }).toEqual({ client, code: "ok", message: "" });
    }
  });

  it("answers a call without a credential with UNAUTHENTICATED that says what to send", async () => {
    for (const [client, call] of Object.entries(clients())) {
      const outcome = await call();
      expect({ client, code: outcome.code }).toEqual({ client, code: "Unauthenticated" });
      expect({ client, message: outcome.message }).toEqual({
        client,
        message: expect.stringContaining("send authorization: Bearer <API key>"),
      });
    }
    const curl = await clients()["curl Connect unary"]?.();
    expect(curl?.message).toMatch(/^HTTP 401/);
  });

  it("refuses a forged key, and an authorization that is not a bearer", async () => {
    for (const [client, call] of Object.entries(clients())) {
      expect({ client, code: (await call(newApiKey())).code }).toEqual({ client, code: "Unauthenticated" });
    }
    const basic = await grpcClient(pa.baseUrl)
      .getTopics({}, { headers: { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` } })
      .catch((error: unknown) => ConnectError.from(error));
    expect(basic).toBeInstanceOf(ConnectError);
    expect((basic as ConnectError).code).toBe(Code.Unauthenticated);
  });

  it("works with buf curl, which sends the key to the call and to server reflection", async () => {
    const bufCurl = (headers: string[]) =>
      run(
        "node_modules/.bin/buf",
        [
          "curl",
          "--protocol",
          "grpc",
          ...headers,
          "--data",
          "{}",
          `${pa.baseUrl}/payment.PaymentService/GetTopics`,
        ],
        { cwd: root },
      );
    const bearerHeader = `authorization: Bearer ${alice}`;
    const { stdout } = await bufCurl(["-H", bearerHeader, "--reflect-header", bearerHeader]);
    // proto3 JSON leaves out empty fields: {} when pa consumes nothing yet.
    expect(JSON.parse(stdout)).toBeTypeOf("object");
    // Reflection answered (it had the key), the call itself did not.
    const refused = await bufCurl(["--reflect-header", bearerHeader]).then(
      () => "",
      (error: { stderr: string }) => error.stderr,
    );
    expect(JSON.parse(refused)).toEqual({
      code: "unauthenticated",
      message: "no credential: send authorization: Bearer <API key>",
    });
  });

  it("authenticates health, reflection and the dead-letter admin service too", async () => {
    const transport = createGrpcTransport({ baseUrl: pa.baseUrl });
    const withKey = createGrpcTransport({ baseUrl: pa.baseUrl, interceptors: [bearer(alice)] });
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => "ok",
        (error: unknown) => Code[ConnectError.from(error).code],
      );
    expect(await codeOf(createClient(Health, transport).check({}))).toBe("Unauthenticated");
    expect(await codeOf(createClient(Health, withKey).check({}))).toBe("ok");
    const reflect = (t: typeof transport) => async () => {
      const responses = createClient(ServerReflection, t).serverReflectionInfo(
        (async function* () {
          yield { messageRequest: { case: "listServices" as const, value: "" } };
        })(),
      );
      for await (const response of responses) return response;
      throw new Error("reflection answered nothing");
    };
    expect(await codeOf(reflect(transport)())).toBe("Unauthenticated");
    expect(await codeOf(reflect(withKey)())).toBe("ok");
    const admin = createClient(
      DeadLetterService,
      createConnectTransport({ baseUrl: pa.baseUrl, httpVersion: "1.1" }),
    );
    expect(await codeOf(admin.listDeadLetters({ topic }))).toBe("Unauthenticated");
  });

  it("revokes a key removed from the file on its next call (watched), while its open stream keeps flowing", async () => {
    const client = createClient(
      PaymentService,
      createGrpcTransport({ baseUrl: pa.baseUrl, interceptors: [bearer(bob)] }),
    );
    const stream = openStream((signal) =>
      client.streamPayments(
        { topic, startPosition: { case: "start", value: StreamStart.EARLIEST }, existingLimit: 0 },
        { signal },
      ),
    );
    await stream.waitFor(1);

    writeTokensFile(
      tokensPath,
      entries.filter((entry) => entry.name !== "bob"),
    );
    const bobsNextCall = everyClient(pa.baseUrl, pa.port, topic)["connect-node gRPC unary"] as (
      credential?: string,
    ) => Promise<{ code: string }>;
    await waitUntil(async () => (await bobsNextCall(bob)).code === "Unauthenticated", 10_000);
    expect((await bobsNextCall(alice)).code).toBe("ok");

    await produce(bootstrap, topic, [payment("pay_token_2")]);
    await stream.waitFor(2);
    expect(stream.events.map((event) => event.payment?.id)).toEqual(["pay_token_1", "pay_token_2"]);
    stream.close();

    writeTokensFile(tokensPath, entries);
    await waitUntil(async () => (await bobsNextCall(bob)).code === "ok", 10_000);
  });

  it("reloads on the app's reload (SIGHUP) at once, and keeps the old tokens when the file is bad", async () => {
    const call = everyClient(pa.baseUrl, pa.port, topic)["grpc-js unary"] as (
      credential?: string,
    ) => Promise<{ code: string }>;
    const carol = newApiKey();
    writeTokensFile(tokensPath, [...entries, { name: "carol", sha256: sha256Hex(carol), scope: "read:*" }]);
    expect(pa.app.reloadTokens()).toBe(true);
    expect((await call(carol)).code).toBe("ok");

    writeTokensFile(tokensPath, entries);
    expect(pa.app.reloadTokens()).toBe(true);
    expect((await call(carol)).code).toBe("Unauthenticated");

    writeFileSync(tokensPath, "- name: broken\n  sha256: not-hex\n");
    expect(pa.app.reloadTokens()).toBe(false);
    expect((await call(alice)).code).toBe("ok");
    writeTokensFile(tokensPath, entries);
    expect(pa.app.reloadTokens()).toBe(true);
  });
});
