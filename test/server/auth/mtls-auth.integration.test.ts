// mTLS (TLS_CLIENT_CA) end to end, with a CA and certificates made here by openssl: the client
// certificate's CN or SAN is the identity, its scope comes from the tokens file's "subject"
// entries. Alone (AUTH_MODE=none) the handshake demands a certificate; with AUTH_MODE=token a
// caller brings a certificate or an API key.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  type ClientTls,
  everyClient,
  newApiKey,
  sha256Hex,
  type TokenEntryInput,
  writeTokensFile,
} from "../../support/auth.js";
import { createTopics, produce, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";

const bootstrap = inject("kafkaBootstrap");
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "pa-mtls-"));
const file = (name: string) => join(dir, name);

async function makeCa(name: string): Promise<void> {
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
    "1",
    "-subj",
    `/CN=${name} test CA`,
    "-keyout",
    file(`${name}.key`),
    "-out",
    file(`${name}.pem`),
  ]);
}

/** A certificate signed by `ca`, with its key, as `<name>.pem` and `<name>.key`. */
async function issue(ca: string, name: string, subject: string, san: string, usage: string): Promise<void> {
  await run("openssl", [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-subj",
    subject,
    "-keyout",
    file(`${name}.key`),
    "-out",
    file(`${name}.csr`),
  ]);
  writeFileSync(file(`${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\n`);
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    file(`${name}.csr`),
    "-CA",
    file(`${ca}.pem`),
    "-CAkey",
    file(`${ca}.key`),
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    file(`${name}.ext`),
    "-out",
    file(`${name}.pem`),
  ]);
}

const clientTls = (name?: string): ClientTls => ({
  caFile: file("clients.pem"),
  ...(name ? { certFile: file(`${name}.pem`), keyFile: file(`${name}.key`) } : {}),
});

const payment = (id: string) => ({
  key: id,
  value: JSON.stringify({ id, provider: "stripe", amount: 100, currency: "usd", status: "succeeded" }),
});

const apiKey = newApiKey();
const entries: TokenEntryInput[] = [
  { name: "reporting-service", subject: "spiffe://pa.test/reporting", scope: "read:*" },
  { name: "ops", subject: "ops-client", scope: "read:* admin" },
  { name: "ci", sha256: sha256Hex(apiKey), scope: "read:*" },
];
const topic = uniqueTopic("mtls-auth");

beforeAll(async () => {
  // One CA for pa's own certificate and its clients here ("clients"), and one nobody trusts.
  await makeCa("clients");
  await makeCa("rogue");
  await issue("clients", "server", "/CN=localhost", "IP:127.0.0.1,DNS:localhost", "serverAuth");
  await issue("clients", "reporting", "/CN=reporting-7f3a", "URI:spiffe://pa.test/reporting", "clientAuth");
  await issue("clients", "ops", "/CN=ops-client", "DNS:ops.internal", "clientAuth");
  await issue("clients", "stranger", "/CN=stranger", "DNS:stranger.internal", "clientAuth");
  await issue("rogue", "forged", "/CN=ops-client", "DNS:ops.internal", "clientAuth");
  writeTokensFile(file("tokens.json"), entries);
  await createTopics(bootstrap, [topic]);
  await produce(bootstrap, topic, [payment("pay_mtls_1")]);
});

const tlsEnv = () => ({
  TLS_CERT: file("server.pem"),
  TLS_KEY: file("server.key"),
  TLS_CLIENT_CA: file("clients.pem"),
  AUTH_TOKENS_FILE: file("tokens.json"),
});

describe("mTLS alone (AUTH_MODE=none, TLS_CLIENT_CA)", () => {
  let pa: RunningPa;
  beforeAll(async () => {
    pa = await startPa(bootstrap, tlsEnv());
  });
  afterAll(async () => {
    await pa?.stop();
  });
  const clients = (name?: string) =>
    everyClient(`https://127.0.0.1:${pa.port}`, pa.port, topic, clientTls(name));

  it("serves a client certificate listed by its SAN (a SPIFFE ID) or by its CN, on every client", async () => {
    for (const name of ["reporting", "ops"]) {
      for (const [client, call] of Object.entries(clients(name))) {
        expect({ name, client, ...(await call()) }).toEqual({ name, client, code: "ok", message: "" });
      }
    }
  });

  it("refuses the handshake without a certificate, or with one from another CA", async () => {
    for (const name of [undefined, "forged"]) {
      for (const [client, call] of Object.entries(clients(name))) {
        const outcome = await call();
        expect({ name, client, ok: outcome.code === "ok" }).toEqual({ name, client, ok: false });
        if (client.startsWith("curl")) expect(outcome.code).toBe("curl failed");
        // The connection fails (each client names that its own way); no call reached pa.
        else expect(outcome.code).not.toBe("Unauthenticated");
      }
    }
  });

  it("answers UNAUTHENTICATED to a certificate of the CA whose names are no subject in the file", async () => {
    for (const [client, call] of Object.entries(clients("stranger"))) {
      const outcome = await call();
      expect({ client, code: outcome.code }).toEqual({ client, code: "Unauthenticated" });
      expect(outcome.message).toMatch(
        /\(stranger, stranger.internal\) is not a "subject" in AUTH_TOKENS_FILE/,
      );
    }
  });
});

describe("mTLS with AUTH_MODE=token", () => {
  let pa: RunningPa;
  beforeAll(async () => {
    pa = await startPa(bootstrap, { ...tlsEnv(), AUTH_MODE: "token" });
  });
  afterAll(async () => {
    await pa?.stop();
  });
  const clients = (name?: string) =>
    everyClient(`https://127.0.0.1:${pa.port}`, pa.port, topic, clientTls(name));

  it("serves a certificate, or an API key without one", async () => {
    for (const [client, call] of Object.entries(clients("ops"))) {
      expect({ client, ...(await call()) }).toEqual({ client, code: "ok", message: "" });
    }
    for (const [client, call] of Object.entries(clients())) {
      expect({ client, ...(await call(apiKey)) }).toEqual({ client, code: "ok", message: "" });
    }
  });

  it("answers UNAUTHENTICATED without either, or with a certificate of another CA, saying what to send", async () => {
    for (const name of [undefined, "forged"]) {
      for (const [client, call] of Object.entries(clients(name))) {
        const outcome = await call();
        expect({ name, client, code: outcome.code }).toEqual({ name, client, code: "Unauthenticated" });
        expect(outcome.message).toMatch(
          name
            ? /not signed by a CA in TLS_CLIENT_CA/
            : /send authorization: Bearer <API key>, or connect with a client certificate/,
        );
      }
    }
  });

  it("revokes a certificate's subject on reload, like an API key", async () => {
    writeTokensFile(
      file("tokens.json"),
      entries.filter((entry) => entry.name !== "ops"),
    );
    expect(pa.app.reloadTokens()).toBe(true);
    expect((await clients("ops")["connect-node gRPC unary"]?.())?.code).toBe("Unauthenticated");
    writeTokensFile(file("tokens.json"), entries);
    expect(pa.app.reloadTokens()).toBe(true);
    expect((await clients("ops")["connect-node gRPC unary"]?.())?.code).toBe("ok");
  });
});
