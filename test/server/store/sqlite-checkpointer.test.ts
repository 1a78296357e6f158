// The checkpointer thread runs its own module (sqlite-checkpointer-thread.ts); one that cannot
// open its database says why in words (see sqlite-writer.test.ts for what it said before).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startCheckpointer } from "../../../server/store/sqlite-checkpointer.js";
import { waitUntil } from "../../support/streams.js";

const dir = mkdtempSync(join(tmpdir(), "pa-sqlite-checkpointer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a SQLite checkpointer thread that cannot open its database", () => {
  it("says why", async () => {
    const statuses: (string | undefined)[] = [];
    const checkpointer = startCheckpointer(join(dir, "missing.sqlite"), 10, (status) =>
      statuses.push(status),
    );
    try {
      await waitUntil(() => statuses.length > 0);
      expect(statuses).toEqual(["checkpoint worker failed: SqliteError: unable to open database file"]);
    } finally {
      await checkpointer.stop();
    }
  });
});
