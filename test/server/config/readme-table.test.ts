// The README's configuration tables are the reference users read: every variable pa's config
// accepts must be there, and nothing the tables list may be one pa no longer reads.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const source = readFileSync(new URL("../../../server/config/config.ts", import.meta.url), "utf8");
const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");

// The schema's keys: two-space-indented upper-case names followed by a colon.
const schemaStart = source.indexOf("const schema = z.object({");
const schemaBody = source.slice(schemaStart, source.indexOf("\n});\n", schemaStart));
const accepted = [...schemaBody.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((match) => match[1] as string);

const configuration = readme.slice(
  readme.indexOf("## Configuration\n"),
  readme.indexOf("### Your own cluster"),
);
const documented = new Set(
  [...configuration.matchAll(/^\| ([^|]+)\|/gm)].flatMap((row) =>
    [...(row[1] ?? "").matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((name) => name[1] as string),
  ),
);

describe("README's configuration tables", () => {
  it("finds the variables in config.ts", () => {
    expect(accepted.length).toBeGreaterThan(40);
  });

  it("document every variable pa reads", () => {
    expect(accepted.filter((name) => !documented.has(name))).toEqual([]);
  });

  it("document no variable pa does not read (UV_THREADPOOL_SIZE is Node's own)", () => {
    const unknown = [...documented].filter(
      (name) => !accepted.includes(name) && name !== "UV_THREADPOOL_SIZE",
    );
    expect(unknown).toEqual([]);
  });
});
