import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseTokensFile, TokensFile, TokensFileError } from "../../../server/auth/tokens-file.js";
import { createLogger } from "../../../server/observability/logger.js";

const sha = (key: string) => createHash("sha256").update(key).digest("hex");
const silent = createLogger({ level: "silent", format: "json" });

describe("parseTokensFile", () => {
  it("reads JSON and YAML alike: API keys by sha256, mTLS identities by subject, grants from scope", () => {
    const json = JSON.stringify([
      { name: "billing", sha256: sha("k1"), scope: "read:payments.* pii", tenant: "m-1" },
      { name: "ops-cert", subject: "ops.example.com", scope: "admin read:*" },
    ]);
    const yaml = `
- name: billing
  sha256: ${sha("k1").toUpperCase()}
  scope: read:payments.* pii
  tenant: m-1
- name: ops-cert
  subject: ops.example.com
  scope: admin read:*
`;
    for (const text of [json, yaml]) {
      const table = parseTokensFile(text, "tokens");
      expect(table.byKey("k1")).toEqual({
        name: "billing",
        kind: "token",
        grants: { readTopics: ["payments.*"], pii: true, admin: false, metrics: false },
        tenant: "m-1",
      });
      expect(table.byKey("k2")).toBeUndefined();
      expect(table.byKey(sha("k1"))).toBeUndefined();
      expect(table.bySubject(["someone", "ops.example.com"])?.name).toBe("ops-cert");
      expect(table.bySubject(["billing"])).toBeUndefined();
      expect(table.size).toBe(2);
    }
  });

  it("accepts an empty file as no entries", () => {
    expect(parseTokensFile("", "tokens").size).toBe(0);
    expect(parseTokensFile("[]", "tokens").size).toBe(0);
  });

  it.each([
    ["not a list", '{"name": "a"}', /must be a list/],
    ["a bad digest", `[{"name": "a", "sha256": "abc", "scope": ""}]`, /entry 0.*SHA-256 of the key in hex/s],
    ["the key itself instead of its digest", `[{"name": "a", "key": "secret", "scope": ""}]`, /entry 0/],
    ["neither sha256 nor subject", `[{"name": "a", "scope": "read:*"}]`, /either "sha256".*or "subject"/],
    ["a missing name", `[{"sha256": "${sha("x")}", "scope": ""}]`, /entry 0/],
    [
      "two entries with one name",
      `[{"name": "a", "sha256": "${sha("x")}", "scope": ""}, {"name": "a", "sha256": "${sha("y")}", "scope": ""}]`,
      /entry 1 \(a\): another entry has the same name/,
    ],
    [
      "two entries with one key",
      `[{"name": "a", "sha256": "${sha("x")}", "scope": ""}, {"name": "b", "sha256": "${sha("x")}", "scope": ""}]`,
      /entry 1 \(b\): another entry has the same sha256/,
    ],
    ["not YAML", "[: {", /not JSON or YAML/],
  ])("refuses %s, naming AUTH_TOKENS_FILE and the entry", (_case, text, message) => {
    const attempt = () => parseTokensFile(text, "/etc/pa/tokens.json");
    expect(attempt).toThrow(TokensFileError);
    expect(attempt).toThrow(/AUTH_TOKENS_FILE: \/etc\/pa\/tokens.json/);
    expect(attempt).toThrow(message);
  });
});

describe("TokensFile", () => {
  it("fails at construction on a bad file, and keeps the table in use when a reload finds one", () => {
    const path = join(mkdtempSync(join(tmpdir(), "pa-tokens-unit-")), "tokens.json");
    expect(() => new TokensFile(path, silent)).toThrow(/cannot read/);

    writeFileSync(path, JSON.stringify([{ name: "a", sha256: sha("k1"), scope: "read:*" }]));
    const file = new TokensFile(path, silent);
    expect(file.current.byKey("k1")?.name).toBe("a");

    writeFileSync(path, "[{");
    expect(file.reload()).toBe(false);
    expect(file.current.byKey("k1")?.name).toBe("a");

    writeFileSync(path, JSON.stringify([{ name: "b", sha256: sha("k2"), scope: "read:*" }]));
    expect(file.reload()).toBe(true);
    expect(file.current.byKey("k1")).toBeUndefined();
    expect(file.current.byKey("k2")?.name).toBe("b");
  });
});
