// TENANT_METADATA_KEY, PII_METADATA_KEYS and CORS_ORIGINS.
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../../server/config/config.js";

describe("access configuration", () => {
  it("defaults: no tenant key, the usual PII metadata keys, no CORS", () => {
    const { access } = parseConfig({});
    expect(access.tenantMetadataKey).toBeUndefined();
    expect(access.piiMetadataKeys).toEqual(["email", "phone", "customer_name", "address", "ip_address"]);
    expect(access.corsOrigins).toEqual([]);
  });

  it("reads a tenant key, PII keys and exact origins", () => {
    const { access } = parseConfig({
      TENANT_METADATA_KEY: "merchant_id",
      PII_METADATA_KEYS: "email, iban",
      CORS_ORIGINS: "https://dash.example.com, http://localhost:5173",
    });
    expect(access).toEqual({
      tenantMetadataKey: "merchant_id",
      piiMetadataKeys: ["email", "iban"],
      corsOrigins: ["https://dash.example.com", "http://localhost:5173"],
    });
  });

  it('refuses "*" in CORS_ORIGINS, since calls carry credentials', () => {
    expect(() => parseConfig({ CORS_ORIGINS: "*" })).toThrow(ConfigError);
    expect(() => parseConfig({ CORS_ORIGINS: "https://a.example, *" })).toThrow(
      /CORS_ORIGINS.*"\*" is refused because pa's calls carry credentials/,
    );
  });

  it("refuses an origin with a path, a trailing slash or another scheme", () => {
    for (const bad of ["https://a.example/", "https://a.example/app", "a.example", "ftp://a.example"]) {
      expect(() => parseConfig({ CORS_ORIGINS: bad }), bad).toThrow(/CORS_ORIGINS.*must be origins like/);
    }
  });

  it("needs TENANT_METADATA_KEY when JWTs bind identities to tenants", () => {
    const jwt = {
      AUTH_MODE: "jwt",
      AUTH_JWKS_URL: "https://idp.example.com/jwks",
      AUTH_JWT_ISSUER: "https://idp.example.com/",
      AUTH_JWT_AUDIENCE: "pa",
      AUTH_TENANT_CLAIM: "org",
    };
    expect(() => parseConfig(jwt)).toThrow(/TENANT_METADATA_KEY: must be set with AUTH_TENANT_CLAIM/);
    expect(parseConfig({ ...jwt, TENANT_METADATA_KEY: "merchant_id" }).access.tenantMetadataKey).toBe(
      "merchant_id",
    );
  });

  it("refuses a tenant key that is not a plain metadata key", () => {
    expect(() => parseConfig({ TENANT_METADATA_KEY: "merchant id" })).toThrow(/TENANT_METADATA_KEY/);
  });
});
