import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { Authenticator } from "../../../server/auth/authenticator.js";
import type { ClientCertificate } from "../../../server/auth/client-certificate.js";
import { ANONYMOUS, AuthenticationError } from "../../../server/auth/identity.js";
import { JwtVerifier } from "../../../server/auth/jwt-verifier.js";
import { TokensFile } from "../../../server/auth/tokens-file.js";
import { createLogger } from "../../../server/observability/logger.js";

const sha = (key: string) => createHash("sha256").update(key).digest("hex");

function tokensFile(): TokensFile {
  const path = join(mkdtempSync(join(tmpdir(), "pa-authn-")), "tokens.json");
  writeFileSync(
    path,
    JSON.stringify([
      { name: "reader", sha256: sha("key-1"), scope: "read:payments.*" },
      { name: "ops-cert", subject: "ops.example.com", scope: "admin", tenant: "m-9" },
    ]),
  );
  return new TokensFile(path, createLogger({ level: "silent", format: "json" }));
}

const certificate = (names: string[], authorized = true): ClientCertificate => ({
  authorized,
  names,
  ...(authorized ? {} : { authorizationError: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" }),
});

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AuthenticationError);
    return (error as Error).message;
  }
  throw new Error("expected an AuthenticationError");
}

describe("Authenticator", () => {
  it("lets everyone in as ANONYMOUS with AUTH_MODE=none and no mTLS, whatever they send", async () => {
    const authenticator = new Authenticator({ mode: "none", mtls: false });
    expect(authenticator.open).toBe(true);
    expect(await authenticator.authenticate({})).toBe(ANONYMOUS);
    expect(await authenticator.authenticate({ authorization: "Bearer whatever" })).toBe(ANONYMOUS);
  });

  it("AUTH_MODE=token: a known key is its entry's identity; anything else says what to send", async () => {
    const authenticator = new Authenticator({ mode: "token", tokens: tokensFile(), mtls: false });
    expect(authenticator.open).toBe(false);
    expect((await authenticator.authenticate({ authorization: "Bearer key-1" })).name).toBe("reader");
    expect((await authenticator.authenticate({ authorization: "bearer   key-1" })).name).toBe("reader");
    expect(await failure(authenticator.authenticate({}))).toBe(
      "no credential: send authorization: Bearer <API key>",
    );
    expect(await failure(authenticator.authenticate({ authorization: "Bearer key-2" }))).toMatch(
      /API key is not known.*send authorization: Bearer <API key>/,
    );
    expect(await failure(authenticator.authenticate({ authorization: "Basic a2V5LTE=" }))).toMatch(
      /not "Bearer <credential>"/,
    );
    expect(await failure(authenticator.authenticate({ authorization: "Bearer" }))).toMatch(/not "Bearer/);
    // Without TLS_CLIENT_CA a certificate is no credential.
    expect(
      await failure(authenticator.authenticate({ certificate: certificate(["ops.example.com"]) })),
    ).toMatch(/no credential/);
  });

  it("mTLS: a verified certificate whose CN or SAN is a subject of the file; a bearer wins over it", async () => {
    const authenticator = new Authenticator({ mode: "token", tokens: tokensFile(), mtls: true });
    const ops = await authenticator.authenticate({
      certificate: certificate(["client-7", "ops.example.com"]),
    });
    expect(ops).toMatchObject({ name: "ops-cert", kind: "mtls", tenant: "m-9" });
    expect(ops.grants.admin).toBe(true);
    const both = await authenticator.authenticate({
      authorization: "Bearer key-1",
      certificate: certificate(["ops.example.com"]),
    });
    expect(both.name).toBe("reader");
    expect(await failure(authenticator.authenticate({ certificate: certificate(["stranger"]) }))).toMatch(
      /\(stranger\) is not a "subject" in AUTH_TOKENS_FILE/,
    );
    expect(
      await failure(authenticator.authenticate({ certificate: certificate(["ops.example.com"], false) })),
    ).toMatch(/not signed by a CA in TLS_CLIENT_CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
    expect(await failure(authenticator.authenticate({}))).toBe(
      "no credential: send authorization: Bearer <API key>, or connect with a client certificate signed by a CA in TLS_CLIENT_CA",
    );
  });

  it("AUTH_MODE=none with mTLS: the certificate is the only credential", async () => {
    const authenticator = new Authenticator({ mode: "none", tokens: tokensFile(), mtls: true });
    expect(authenticator.open).toBe(false);
    expect((await authenticator.authenticate({ certificate: certificate(["ops.example.com"]) })).name).toBe(
      "ops-cert",
    );
    expect(await failure(authenticator.authenticate({ authorization: "Bearer key-1" }))).toBe(
      "no credential: connect with a client certificate signed by a CA in TLS_CLIENT_CA",
    );
  });

  it("AUTH_MODE=jwt: a verified JWT is its sub, with its expiry; an API key is no JWT", async () => {
    const { publicKey, privateKey } = await generateKeyPair("EdDSA");
    const keyFile = join(mkdtempSync(join(tmpdir(), "pa-authn-jwt-")), "issuer.pem");
    writeFileSync(keyFile, await exportSPKI(publicKey));
    const authenticator = new Authenticator({
      mode: "jwt",
      jwt: JwtVerifier.create({
        mode: "jwt",
        jwt: { keys: { publicKeyFile: keyFile }, issuer: "https://issuer.test", audience: "pa" },
        allowInsecure: false,
      }),
      mtls: false,
    });
    const exp = Math.floor(Date.now() / 1000) + 60;
    const token = await new SignJWT({ scope: "read:a.*" })
      .setProtectedHeader({ alg: "EdDSA" })
      .setSubject("svc-b")
      .setIssuer("https://issuer.test")
      .setAudience("pa")
      .setExpirationTime(exp)
      .sign(privateKey);
    expect(await authenticator.authenticate({ authorization: `Bearer ${token}` })).toMatchObject({
      name: "svc-b",
      kind: "jwt",
      expiresAtMs: exp * 1000,
    });
    expect(await failure(authenticator.authenticate({}))).toBe(
      "no credential: send authorization: Bearer <JWT>",
    );
    expect(await failure(authenticator.authenticate({ authorization: "Bearer key-1" }))).toMatch(
      /the JWT is not valid/,
    );
  });
});
