// pa's entry point as a process: a bad configuration exits 2 before anything connects, and what it
// prints names the variable without a byte of the secret it holds.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

function runPa(env: Record<string, string>) {
  return spawnSync(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", GRPC_HOST: "127.0.0.1", GRPC_PORT: "0", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
}

describe("server/main.ts", () => {
  it("exits 2 on a DATABASE_URL that is not a URL, naming it and printing no part of it", () => {
    const password = "s3cr3t pass";
    const result = runPa({ DATABASE_URL: `postgres://payments:${password}@db.internal:5432/pa%` });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("DATABASE_URL: ");
    for (const part of ["s3cr3t", "payments:", "db.internal"]) {
      expect(result.stderr).not.toContain(part);
      expect(result.stdout).not.toContain(part);
    }
  });

  it("exits 2 on half a SASL setting, never printing the password", () => {
    const result = runPa({ KAFKA_SASL_PASSWORD: "hunter2-secret" });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD");
    expect(result.stderr + result.stdout).not.toContain("hunter2");
  });
});
