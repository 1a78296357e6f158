// The authentication variables and the secure default: who may connect, and from where.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../../server/config/config.js";

const dir = mkdtempSync(join(tmpdir(), "pa-auth-config-"));
const file = (name: string) => {
  const path = join(dir, name);
  writeFileSync(path, "[]");
  return path;
};
const tokens = file("tokens.json");
// A real certificate and key: pa checks that TLS_CERT and TLS_KEY are PEM and belong together.
const cert = join(dir, "cert.pem");
const key = join(dir, "key.pem");
execFileSync(
  "openssl",
  ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key].concat([
    "-out",
    cert,
    "-days",
    "1",
    "-subj",
    "/CN=pa",
  ]),
  { stdio: "ignore" },
);
const ca = file("ca.pem");
const publicKey = file("jwt.pem");
const jwt = { AUTH_MODE: "jwt", AUTH_JWT_ISSUER: "https://issuer.example", AUTH_JWT_AUDIENCE: "pa" };

describe("authentication configuration", () => {
  it("defaults to AUTH_MODE=none, listening on loopback only", () => {
    const config = parseConfig({});
    expect(config.auth).toEqual({ mode: "none", allowInsecure: false });
    expect(config.server.host).toBe("127.0.0.1");
  });

  it("refuses AUTH_MODE=none on a non-loopback GRPC_HOST, naming GRPC_HOST and ALLOW_INSECURE", () => {
    for (const host of ["0.0.0.0", "::", "10.1.2.3", "pa.internal"]) {
      const attempt = () => parseConfig({ GRPC_HOST: host });
      expect(attempt).toThrow(ConfigError);
      expect(attempt).toThrow(/GRPC_HOST: .* is not a loopback address.*ALLOW_INSECURE=true/s);
    }
    for (const host of ["127.0.0.1", "127.0.0.2", "::1", "localhost"]) {
      expect(parseConfig({ GRPC_HOST: host }).server.host).toBe(host);
    }
    const insecure = parseConfig({ GRPC_HOST: "0.0.0.0", ALLOW_INSECURE: "true" });
    expect(insecure.server.host).toBe("0.0.0.0");
    expect(insecure.auth.allowInsecure).toBe(true);
  });

  it("listens on every interface by default once callers authenticate", () => {
    expect(parseConfig({ AUTH_MODE: "token", AUTH_TOKENS_FILE: tokens }).server.host).toBe("0.0.0.0");
    const mtls = parseConfig({ TLS_CERT: cert, TLS_KEY: key, TLS_CLIENT_CA: ca, AUTH_TOKENS_FILE: tokens });
    expect(mtls.server.host).toBe("0.0.0.0");
    expect(mtls.server.tls).toEqual({ certFile: cert, keyFile: key, clientCaFile: ca });
  });

  it("AUTH_MODE=token needs an existing AUTH_TOKENS_FILE", () => {
    expect(() => parseConfig({ AUTH_MODE: "token" })).toThrow(/AUTH_TOKENS_FILE: AUTH_MODE=token needs it/);
    expect(() => parseConfig({ AUTH_MODE: "token", AUTH_TOKENS_FILE: join(dir, "missing") })).toThrow(
      /AUTH_TOKENS_FILE: no file at/,
    );
    expect(parseConfig({ AUTH_MODE: "token", AUTH_TOKENS_FILE: tokens }).auth).toEqual({
      mode: "token",
      tokensFile: tokens,
      allowInsecure: false,
    });
    expect(() => parseConfig({ AUTH_MODE: "tokens" })).toThrow(
      /AUTH_MODE \(got "tokens"\): must be none, token or jwt/,
    );
    expect(() => parseConfig({ AUTH_TOKENS_FILE: tokens })).toThrow(/AUTH_TOKENS_FILE: is read only with/);
  });

  it("AUTH_MODE=jwt needs exactly one key source, an issuer and an audience", () => {
    expect(() => parseConfig(jwt)).toThrow(/AUTH_JWKS_URL and AUTH_JWT_PUBLIC_KEY_FILE: .*exactly one/);
    expect(() =>
      parseConfig({
        ...jwt,
        AUTH_JWKS_URL: "https://issuer.example/jwks",
        AUTH_JWT_PUBLIC_KEY_FILE: publicKey,
      }),
    ).toThrow(/exactly one/);
    expect(() => parseConfig({ ...jwt, AUTH_JWKS_URL: "http://issuer.example/jwks" })).toThrow(
      /AUTH_JWKS_URL: must be an https:\/\/ URL/,
    );
    expect(() => parseConfig({ ...jwt, AUTH_JWKS_URL: "not a url" })).toThrow(/AUTH_JWKS_URL: must be a URL/);
    const { AUTH_JWT_AUDIENCE: _, ...noAudience } = jwt;
    expect(() => parseConfig({ ...noAudience, AUTH_JWT_PUBLIC_KEY_FILE: publicKey })).toThrow(
      /AUTH_JWT_AUDIENCE/,
    );
    const { AUTH_JWT_ISSUER: __, ...noIssuer } = jwt;
    expect(() => parseConfig({ ...noIssuer, AUTH_JWT_PUBLIC_KEY_FILE: publicKey })).toThrow(
      /AUTH_JWT_ISSUER/,
    );

    const remote = parseConfig({
      ...jwt,
      AUTH_JWKS_URL: "http://127.0.0.1:8080/jwks",
      AUTH_TENANT_CLAIM: "mid",
      TENANT_METADATA_KEY: "merchant_id",
    });
    expect(remote.auth).toEqual({
      mode: "jwt",
      jwt: {
        keys: { jwksUrl: "http://127.0.0.1:8080/jwks" },
        issuer: "https://issuer.example",
        audience: "pa",
      },
      tenantClaim: "mid",
      allowInsecure: false,
    });
    expect(parseConfig({ ...jwt, AUTH_JWT_PUBLIC_KEY_FILE: publicKey }).auth.jwt?.keys).toEqual({
      publicKeyFile: publicKey,
    });
    expect(() => parseConfig({ AUTH_JWKS_URL: "https://issuer.example/jwks" })).toThrow(
      /AUTH_JWKS_URL: is read only with AUTH_MODE=jwt/,
    );
  });

  it("TLS_CLIENT_CA needs TLS and a tokens file for its subjects", () => {
    expect(() => parseConfig({ TLS_CLIENT_CA: ca, AUTH_TOKENS_FILE: tokens })).toThrow(
      /TLS_CLIENT_CA: needs TLS_CERT and TLS_KEY/,
    );
    expect(() => parseConfig({ TLS_CERT: cert, TLS_KEY: key, TLS_CLIENT_CA: ca })).toThrow(
      /AUTH_TOKENS_FILE: TLS_CLIENT_CA needs it/,
    );
    expect(() =>
      parseConfig({
        TLS_CERT: cert,
        TLS_KEY: key,
        TLS_CLIENT_CA: join(dir, "nope"),
        AUTH_TOKENS_FILE: tokens,
      }),
    ).toThrow(/TLS_CLIENT_CA: no file at/);
  });
});
