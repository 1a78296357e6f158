// The JWT verifier with AUTH_JWT_PUBLIC_KEY_FILE (PEM, JWK or JWKS): claims into an Identity.

import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { AuthenticationError } from "../../../server/auth/identity.js";
import { JwtVerifier, KeySetUnavailableError } from "../../../server/auth/jwt-verifier.js";
import { type AuthConfig, ConfigError } from "../../../server/config/config.js";

const dir = mkdtempSync(join(tmpdir(), "pa-jwt-unit-"));
const settings = (publicKeyFile: string, tenantClaim?: string): AuthConfig => ({
  mode: "jwt",
  jwt: { keys: { publicKeyFile }, issuer: "https://issuer.test", audience: "pa" },
  ...(tenantClaim ? { tenantClaim } : {}),
  allowInsecure: false,
});
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

async function keyPair(alg: "RS256" | "ES256" | "EdDSA") {
  const pair = await generateKeyPair(alg, { extractable: true });
  const sign = (claims: Record<string, unknown>, exp: number | string = "5m") =>
    new SignJWT(claims)
      .setProtectedHeader({ alg })
      .setSubject("svc-a")
      .setIssuer("https://issuer.test")
      .setAudience("pa")
      .setExpirationTime(exp)
      .sign(pair.privateKey);
  return { ...pair, sign };
}

describe("JwtVerifier with a public key file", () => {
  it("reads a PEM public key and makes the identity from sub, scope, the tenant claim and exp", async () => {
    const es = await keyPair("ES256");
    const verifier = JwtVerifier.create(
      settings(write("es.pem", await exportSPKI(es.publicKey)), "merchant_id"),
    );
    const exp = Math.floor(Date.now() / 1000) + 300;
    const identity = await verifier.verify(
      await es.sign({ scope: "read:payments.* pii", merchant_id: "m-1" }, exp),
    );
    expect(identity).toEqual({
      name: "svc-a",
      kind: "jwt",
      grants: { readTopics: ["payments.*"], pii: true, admin: false, metrics: false },
      tenant: "m-1",
      expiresAtMs: exp * 1000,
    });
    await expect(verifier.verify(await es.sign({ scope: "read:*" }))).rejects.toThrow(
      /no "merchant_id" claim \(AUTH_TENANT_CLAIM\)/,
    );
  });

  it("reads a single JWK and a JWKS, and grants nothing for a token without scope", async () => {
    const ed = await keyPair("EdDSA");
    const rsa = await keyPair("RS256");
    const jwk = write("ed.jwk", JSON.stringify(await exportJWK(ed.publicKey)));
    expect((await JwtVerifier.create(settings(jwk)).verify(await ed.sign({}))).grants).toEqual({
      readTopics: [],
      pii: false,
      admin: false,
      metrics: false,
    });
    const set = write(
      "set.json",
      JSON.stringify({ keys: [await exportJWK(ed.publicKey), await exportJWK(rsa.publicKey)] }),
    );
    const verifier = JwtVerifier.create(settings(set));
    expect((await verifier.verify(await rsa.sign({ scope: ["admin", "read:x"] }))).grants.admin).toBe(true);
    const other = await keyPair("RS256");
    await expect(verifier.verify(await other.sign({}))).rejects.toBeInstanceOf(AuthenticationError);
  });

  it("accepts a token expired within the 30 s skew, and refuses one expired longer ago", async () => {
    const es = await keyPair("ES256");
    const verifier = JwtVerifier.create(settings(write("skew.pem", await exportSPKI(es.publicKey))));
    const now = Math.floor(Date.now() / 1000);
    expect((await verifier.verify(await es.sign({}, now - 10))).name).toBe("svc-a");
    await expect(verifier.verify(await es.sign({}, now - 60))).rejects.toThrow(/the JWT has expired/);
  });

  it("exits 2 (ConfigError) on a key file that is not a public key", async () => {
    const rsa = await keyPair("RS256");
    const privateJwk = write("private.jwk", JSON.stringify(await exportJWK(rsa.privateKey)));
    expect(() => JwtVerifier.create(settings(privateJwk))).toThrow(ConfigError);
    expect(() => JwtVerifier.create(settings(write("junk.pem", "hello")))).toThrow(
      /AUTH_JWT_PUBLIC_KEY_FILE: .*not a PEM public key/,
    );
  });
});

describe("JwtVerifier with AUTH_JWKS_URL", () => {
  it("answers UNAVAILABLE (KeySetUnavailableError), not UNAUTHENTICATED, when the JWKS cannot be fetched", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const verifier = JwtVerifier.create({
      mode: "jwt",
      jwt: {
        keys: { jwksUrl: `http://127.0.0.1:${port}/jwks` },
        issuer: "https://issuer.test",
        audience: "pa",
      },
      allowInsecure: false,
    });
    const es = await keyPair("ES256");
    await expect(verifier.verify(await es.sign({}))).rejects.toBeInstanceOf(KeySetUnavailableError);
  });
});
