// AUTH_MODE=jwt end to end, against a JWKS this test serves over HTTP on 127.0.0.1 with keys made
// by jose: RS256, ES256 and EdDSA tokens on every client; missing, expired, forged, wrong audience
// and issuer refused; refetches of the JWKS bounded; and a stream whose JWT expires ends with
// UNAUTHENTICATED and a cursor that resumes it with a fresh token, on both StreamPayments paths.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Health } from "../../../gen/grpc/health/v1/health_pb.js";
import { type PaymentEvent, PaymentService, StreamStart } from "../../../gen/payment/payment_pb.js";
import { bearer, everyClient } from "../../support/auth.js";
import { createTopics, produce, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");
const ISSUER = "https://issuer.test";
const AUDIENCE = "pa";

type Algorithm = "RS256" | "ES256" | "EdDSA";
interface SigningKey {
  kid: string;
  alg: Algorithm;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
  jwk: JWK;
}

async function signingKey(alg: Algorithm, kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

interface Claims {
  sub?: string;
  scope?: string;
  iss?: string;
  aud?: string;
  /** Seconds since the epoch. */
  exp?: number;
}

function sign(key: SigningKey, claims: Claims = {}, kid = key.kid): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: claims.scope ?? "read:*" })
    .setProtectedHeader({ alg: key.alg, kid })
    .setSubject(claims.sub ?? "svc-reporting")
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(claims.exp ?? now + 600)
    .sign(key.privateKey);
}

const payment = (id: string) => ({
  key: id,
  value: JSON.stringify({ id, provider: "stripe", amount: 100, currency: "usd", status: "succeeded" }),
});

describe("AUTH_MODE=jwt with AUTH_JWKS_URL", () => {
  const topic = uniqueTopic("jwt-auth");
  const keys: SigningKey[] = [];
  let jwks: Server;
  let jwksFetches = 0;
  let pa: RunningPa;

  beforeAll(async () => {
    keys.push(
      await signingKey("RS256", "rsa-1"),
      await signingKey("ES256", "ec-1"),
      await signingKey("EdDSA", "ed-1"),
    );
    jwks = createServer((_request, response) => {
      jwksFetches += 1;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ keys: keys.map((key) => key.jwk) }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
    await createTopics(bootstrap, [topic]);
    await produce(bootstrap, topic, [payment("pay_jwt_1")]);
    pa = await startPa(bootstrap, {
      AUTH_MODE: "jwt",
      AUTH_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
    });
  });
  afterAll(async () => {
    await pa?.stop();
    jwks?.close();
  });

  const clients = () => everyClient(pa.baseUrl, pa.port, topic);
  const key = (alg: Algorithm) => keys.find((k) => k.alg === alg) as SigningKey;

  it("serves a valid RS256 token on every client and protocol", async () => {
    const token = await sign(key("RS256"));
    for (const [client, call] of Object.entries(clients())) {
      expect({ client, ...(await call(token)) }).toEqual({ client, code: "ok", message: "" });
    }
  });

  it("accepts ES256 and EdDSA too", async () => {
    const call = clients()["connect-node Connect unary"];
    for (const alg of ["ES256", "EdDSA"] as const) {
      expect({ alg, ...(await call?.(await sign(key(alg)))) }).toEqual({ alg, code: "ok", message: "" });
    }
  });

  it("refuses a missing, expired, forged, wrong-audience or wrong-issuer token with UNAUTHENTICATED", async () => {
    const now = Math.floor(Date.now() / 1000);
    const stranger = await signingKey("RS256", "rsa-1");
    const cases: [string, string | undefined, RegExp][] = [
      ["missing", undefined, /no credential: send authorization: Bearer <JWT>/],
      ["expired (beyond the 30 s skew)", await sign(key("RS256"), { exp: now - 120 }), /expired/],
      ["forged: signed by another key under a known kid", await sign(stranger), /signature does not verify/],
      ["forged: an unknown kid", await sign(stranger, {}, "rsa-unknown"), /no key of the issuer matches/],
      ["wrong audience", await sign(key("ES256"), { aud: "another-service" }), /"aud" claim/],
      ["wrong issuer", await sign(key("EdDSA"), { iss: "https://evil.test" }), /"iss" claim/],
      ["not a JWT", "not.a.jwt", /not valid/],
    ];
    for (const [name, token, message] of cases) {
      for (const [client, call] of Object.entries(clients())) {
        const outcome = await call(token);
        expect({ name, client, code: outcome.code }).toEqual({ name, client, code: "Unauthenticated" });
        expect(outcome.message, `${name} over ${client}`).toMatch(message);
      }
    }
  });

  it("refuses an HS256 token even when its secret is a published key", async () => {
    const rsa = key("RS256");
    const token = await new SignJWT({ scope: "read:*" })
      .setProtectedHeader({ alg: "HS256", kid: rsa.kid })
      .setSubject("mallory")
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(JSON.stringify(rsa.jwk)));
    const outcome = await clients()["grpc-js unary"]?.(token);
    expect(outcome?.code).toBe("Unauthenticated");
    expect(outcome?.message).toMatch(/algorithm is not accepted/);
  });

  it("refetches the JWKS for unknown kids at most once per cooldown", async () => {
    const before = jwksFetches;
    const stranger = await signingKey("ES256", "ec-unknown");
    const call = clients()["connect-node gRPC unary"];
    for (let i = 0; i < 20; i++) {
      expect((await call?.(await sign(stranger, {}, `unknown-${i}`)))?.code).toBe("Unauthenticated");
    }
    expect(jwksFetches - before).toBeLessThanOrEqual(1);
  });

  it.each([
    ["the native gRPC path (connect-node gRPC)", "grpc"],
    ["Connect's handler (gRPC-Web)", "grpc-web"],
  ] as const)(
    "ends a stream when its JWT expires, with UNAUTHENTICATED and a resume cursor, on %s",
    async (_path, kind) => {
      const streamTopic = uniqueTopic(`jwt-expiry-${kind}`);
      await createTopics(bootstrap, [streamTopic], 1);
      await produce(bootstrap, streamTopic, [payment("pay_exp_1")]);
      const client = (token: string) =>
        createClient(
          PaymentService,
          kind === "grpc"
            ? createGrpcTransport({ baseUrl: pa.baseUrl, interceptors: [bearer(token)] })
            : createGrpcWebTransport({
                baseUrl: pa.baseUrl,
                httpVersion: "1.1",
                interceptors: [bearer(token)],
              }),
        );

      const shortLived = await sign(key("ES256"), { exp: Math.floor(Date.now() / 1000) + 4 });
      const events: PaymentEvent[] = [];
      let failure: ConnectError | undefined;
      const reading = (async () => {
        try {
          for await (const event of client(shortLived).streamPayments({
            topic: streamTopic,
            startPosition: { case: "start", value: StreamStart.EARLIEST },
            existingLimit: 0,
          }))
            events.push(event);
        } catch (error) {
          failure = ConnectError.from(error);
        }
      })();
      await waitUntil(() => events.length === 1, 20_000);
      await produce(bootstrap, streamTopic, [payment("pay_exp_2")]);
      await waitUntil(() => events.length === 2, 20_000);
      await reading;
      expect(failure?.code).toBe(Code.Unauthenticated);
      expect(failure?.rawMessage).toMatch(
        /credential of svc-reporting expired.*resume with a fresh credential/,
      );
      const cursor = failure?.metadata.get("pa-resume-cursor");
      expect(cursor).toBe(events.at(-1)?.cursor);

      await produce(bootstrap, streamTopic, [payment("pay_exp_3")]);
      const resumed: PaymentEvent[] = [];
      const controller = new AbortController();
      for await (const event of client(await sign(key("ES256"))).streamPayments(
        { topic: streamTopic, startPosition: { case: "startCursor", value: cursor ?? "" }, existingLimit: 0 },
        { signal: controller.signal },
      )) {
        resumed.push(event);
        break;
      }
      controller.abort();
      expect(events.map((event) => event.payment?.id)).toEqual(["pay_exp_1", "pay_exp_2"]);
      expect(resumed.map((event) => event.payment?.id)).toEqual(["pay_exp_3"]);
    },
  );

  it("ends any other stream too (health Watch) when its JWT expires, with UNAUTHENTICATED", async () => {
    const token = await sign(key("EdDSA"), { exp: Math.floor(Date.now() / 1000) + 3 });
    const health = createClient(
      Health,
      createGrpcTransport({ baseUrl: pa.baseUrl, interceptors: [bearer(token)] }),
    );
    const statuses: number[] = [];
    let failure: ConnectError | undefined;
    try {
      for await (const response of health.watch({ service: "" })) statuses.push(response.status);
    } catch (error) {
      failure = ConnectError.from(error);
    }
    expect(statuses.length).toBeGreaterThanOrEqual(1);
    expect(failure?.code).toBe(Code.Unauthenticated);
    expect(failure?.rawMessage).toMatch(/credential of svc-reporting expired; call again with a fresh one/);
  });
});
