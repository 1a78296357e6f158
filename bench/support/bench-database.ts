// A fresh PostgreSQL database per benchmark run on the project's local server (scripts/postgres.sh),
// so pa's PostgreSQL store starts empty and nothing of the run is left behind: created before,
// dropped (with any connection still open) afterwards.
import { execFileSync } from "node:child_process";
import path from "node:path";
import pg from "pg";
import { REPO_ROOT } from "./pa-process.js";

export class BenchDatabase {
  private constructor(
    /** The server's maintenance database, from which the run's database is created and dropped. */
    private readonly serverUrl: URL,
    readonly name: string,
  ) {}

  /**
   * Starts the local server when it is not running (`scripts/postgres.sh up`, a no-op when it is)
   * and creates the database `name` on it.
   */
  static async create(name: string): Promise<BenchDatabase> {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
    const url = execFileSync("bash", [path.join(REPO_ROOT, "scripts/postgres.sh"), "up"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }).trim();
    const serverUrl = new URL(url);
    serverUrl.pathname = "/postgres";
    const database = new BenchDatabase(serverUrl, name);
    await database.admin(`CREATE DATABASE ${name}`);
    return database;
  }

  /** The connection URL of the run's database, for DATABASE_URL and for the raw-insert baseline. */
  get url(): string {
    const url = new URL(this.serverUrl);
    url.pathname = `/${this.name}`;
    return url.toString();
  }

  /** The database's size on disk (tables, indexes, TOAST), in bytes. */
  async sizeBytes(): Promise<number> {
    const client = new pg.Client({ connectionString: this.serverUrl.toString() });
    await client.connect();
    try {
      const result = await client.query<{ size: string }>("SELECT pg_database_size($1) AS size", [this.name]);
      return Number(result.rows[0]?.size ?? 0);
    } finally {
      await client.end();
    }
  }

  drop(): Promise<void> {
    return this.admin(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
  }

  private async admin(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.serverUrl.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
}
