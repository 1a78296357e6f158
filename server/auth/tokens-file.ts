// AUTH_TOKENS_FILE: who may call pa with an API key, and which client certificate subjects are
// known (mTLS). The file holds only SHA-256 digests of the keys, never the keys. It is validated
// whole before it replaces the one in use, so a bad edit never locks everyone out: it is reloaded
// when it changes and on SIGHUP, and a reload that fails keeps the previous table.
import { createHash, timingSafeEqual } from "node:crypto";
import { type FSWatcher, readFileSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { ConfigError } from "../config/config.js";
import type { Logger } from "../observability/logger.js";
import { grantsFromScope, type Identity } from "./identity.js";

/** The file cannot be read or is not a valid list of entries; the message says where and why. */
export class TokensFileError extends ConfigError {}

const common = {
  name: z.string().trim().min(1, "must not be empty"),
  scope: z.string(),
  tenant: z.string().trim().min(1, "must not be empty when given").optional(),
};
const apiKeyEntry = z.strictObject({
  ...common,
  sha256: z
    .string()
    .trim()
    .regex(
      /^[0-9a-fA-F]{64}$/,
      "must be the SHA-256 of the key in hex (64 characters: sha256sum, openssl dgst)",
    ),
});
const subjectEntry = z.strictObject({
  ...common,
  subject: z.string().trim().min(1, "must not be empty: a client certificate's CN or SAN"),
});
const fileSchema = z.array(
  z.union([apiKeyEntry, subjectEntry], {
    error: 'each entry needs "name", "scope" and either "sha256" (an API key) or "subject" (mTLS)',
  }),
);

interface KeyEntry {
  digest: Buffer;
  identity: Identity;
}

/** One validated version of the file: lookups by key (constant time) and by certificate subject. */
export class TokenTable {
  constructor(
    private readonly keys: readonly KeyEntry[],
    private readonly subjects: ReadonlyMap<string, Identity>,
  ) {}

  get size(): number {
    return this.keys.length + this.subjects.size;
  }

  /** The identity whose sha256 is the key's digest. Every entry is compared, each in constant time. */
  byKey(key: string): Identity | undefined {
    const digest = createHash("sha256").update(key, "utf8").digest();
    let found: Identity | undefined;
    for (const entry of this.keys) {
      if (timingSafeEqual(entry.digest, digest) && !found) found = entry.identity;
    }
    return found;
  }

  /** The identity of the first of a certificate's names (CN, then SANs) listed as a subject. */
  bySubject(names: readonly string[]): Identity | undefined {
    for (const name of names) {
      const identity = this.subjects.get(name);
      if (identity) return identity;
    }
    return undefined;
  }
}

/** Parses the file's text (YAML, of which JSON is a subset); `path` only names it in errors. */
export function parseTokensFile(text: string, path: string): TokenTable {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new TokensFileError(
      `invalid configuration:\n  AUTH_TOKENS_FILE: ${path} is not JSON or YAML: ${(error as Error).message}`,
    );
  }
  const result = fileSchema.safeParse(document ?? []);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const where = issue.path.length > 0 ? `entry ${issue.path.map(String).join(".")}` : "the file";
      return `    ${where}: ${issue.message}`;
    });
    throw new TokensFileError(
      `invalid configuration:\n  AUTH_TOKENS_FILE: ${path} must be a list of {name, sha256 | subject, scope, tenant?}:\n${lines.join("\n")}`,
    );
  }
  const keys: KeyEntry[] = [];
  const subjects = new Map<string, Identity>();
  const names = new Set<string>();
  const digests = new Set<string>();
  for (const [index, entry] of result.data.entries()) {
    const fail = (message: string) =>
      new TokensFileError(
        `invalid configuration:\n  AUTH_TOKENS_FILE: ${path}: entry ${index} (${entry.name}): ${message}`,
      );
    if (names.has(entry.name)) throw fail("another entry has the same name; names identify callers in logs");
    names.add(entry.name);
    const identity: Identity = {
      name: entry.name,
      kind: "sha256" in entry ? "token" : "mtls",
      grants: grantsFromScope(entry.scope),
      ...(entry.tenant ? { tenant: entry.tenant } : {}),
    };
    if ("sha256" in entry) {
      const digest = entry.sha256.toLowerCase();
      if (digests.has(digest)) throw fail("another entry has the same sha256");
      digests.add(digest);
      keys.push({ digest: Buffer.from(digest, "hex"), identity });
    } else {
      if (subjects.has(entry.subject)) throw fail(`another entry has the subject "${entry.subject}"`);
      subjects.set(entry.subject, identity);
    }
  }
  return new TokenTable(keys, subjects);
}

export function readTokensFile(path: string): TokenTable {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new TokensFileError(
      `invalid configuration:\n  AUTH_TOKENS_FILE: cannot read ${path}: ${(error as Error).message}`,
    );
  }
  return parseTokensFile(text, path);
}

// Editors and ConfigMap updates write a file in several steps; one reload after they settle.
const RELOAD_DEBOUNCE_MS = 200;

/** The tokens file in use, kept current: read at construction (throws TokensFileError), then watched. */
export class TokensFile {
  private table: TokenTable;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;

  constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {
    this.table = readTokensFile(path);
  }

  get current(): TokenTable {
    return this.table;
  }

  /**
   * Watches the file's folder, not the file: editors replace files by renaming, and Kubernetes
   * swaps a ConfigMap's files through a symlink, both of which end a watch on the file itself.
   */
  start(): void {
    if (this.watcher) return;
    const name = basename(this.path);
    this.watcher = watch(dirname(this.path), { persistent: false }, (_event, changed) => {
      if (changed && changed !== name && !changed.startsWith("..")) return;
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => this.reload(), RELOAD_DEBOUNCE_MS);
    });
    this.watcher.on("error", (error) =>
      this.logger.error({ err: error }, `[AUTH] cannot watch ${this.path}; SIGHUP still reloads it`),
    );
  }

  /** Reads the file again; on any problem keeps the table in use and logs why. Returns whether it changed. */
  reload(): boolean {
    try {
      this.table = readTokensFile(this.path);
      this.logger.info(`[AUTH] Reloaded ${this.path}: ${this.table.size} entries`);
      return true;
    } catch (error) {
      this.logger.error(
        `[AUTH] Kept the previous tokens: ${(error as Error).message.replace("invalid configuration:\n  ", "")}`,
      );
      return false;
    }
  }

  stop(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
  }
}
