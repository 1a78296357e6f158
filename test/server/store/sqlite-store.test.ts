import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { openSqliteStore } from "../../../server/store/sqlite-store.js";
import { describePaymentStoreContract } from "./payment-store-contract.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describePaymentStoreContract(
  "sqlite",
  async ({ retention = { maxPayments: 1_000_000, maxAgeMs: 86_400_000 } }) => {
    const dataDir = mkdtempSync(join(tmpdir(), "pa-sqlite-store-"));
    dirs.push(dataDir);
    return {
      store: await openSqliteStore({ dataDir, retention }),
      reopen: () => openSqliteStore({ dataDir, retention }),
    };
  },
);
