// Picks the store engine from the configuration: PostgreSQL when DATABASE_URL is set, else the
// embedded SQLite file under DATA_DIR.
import type { Config } from "../config/config.js";
import type { Logger } from "../observability/logger.js";
import type { PaymentStore } from "./payment-store.js";
import { openPostgresStore } from "./postgres-store.js";
import { openSqliteStore } from "./sqlite-store.js";

export function describeStore(config: Config["store"]): string {
  if (config.databaseUrl) {
    const url = new URL(config.databaseUrl);
    return `PostgreSQL at ${url.hostname}:${url.port || 5432}${url.pathname}`;
  }
  return `embedded SQLite in ${config.dataDir}`;
}

export function openStore(config: Config["store"], logger: Logger): Promise<PaymentStore> {
  if (config.databaseUrl) return openPostgresStore({ url: config.databaseUrl, retention: config.retention });
  return openSqliteStore({ dataDir: config.dataDir, retention: config.retention, logger });
}
