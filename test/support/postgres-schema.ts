// A PostgreSQL schema of a test file's own on the shared local cluster. pa's store keys payments by
// id alone, and the fault tests' generators are seeded, so two tests writing the same ids into one
// schema take each other's rows (the newer payment wins, under its own topic): a count by topic
// then comes up short. Each file that stores payments in PostgreSQL gets a schema of its own.
import { randomBytes } from "node:crypto";
import pg from "pg";

export interface IsolatedPostgres {
  /** DATABASE_URL for pa: the shared cluster, with this schema as its search path. */
  readonly url: string;
  create(): Promise<void>;
  drop(): Promise<void>;
}

export function isolatedPostgres(baseUrl: string, label: string): IsolatedPostgres {
  const schema = `pa_${label.replaceAll(/[^a-z0-9]/g, "_")}_${randomBytes(5).toString("hex")}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: baseUrl });
    await client.connect();
    await client.query(sql).finally(() => client.end());
  };
  return {
    url: `${baseUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    create: () => admin(`CREATE SCHEMA ${schema}`),
    drop: () => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`),
  };
}
