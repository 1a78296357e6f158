// The writer thread runs its own module (sqlite-writer-thread.ts); one that cannot open its
// database ends, and the writer says why in words, not "undefined" (better-sqlite3's SqliteError
// loses its message on its way out of a thread unless the thread says it).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startSqliteWriter } from "../../../server/store/sqlite-writer.js";

const dir = mkdtempSync(join(tmpdir(), "pa-sqlite-writer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a SQLite writer thread that cannot open its database", () => {
  it("ends, says why, and fails the writes sent to it", async () => {
    const writer = startSqliteWriter({
      file: join(dir, "missing.sqlite"),
      cacheKiB: 1024,
      autocheckpointPages: 1000,
      walSizeLimitBytes: 1 << 20,
    });
    await expect(writer.optimize()).rejects.toThrow(/unable to open database file/);
    await writer.ended;
    expect(writer.problem()).toBe(
      "the SQLite writer thread failed: SqliteError: unable to open database file",
    );
  });
});
