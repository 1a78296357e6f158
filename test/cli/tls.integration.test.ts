// pa-cli against a pa that serves TLS: --tls with --ca for a private CA, and a clear error without.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type RunningPa, startPa } from "../support/pa.js";
import { runCli } from "./cli-process.js";

const bootstrap = inject("kafkaBootstrap");
const run = promisify(execFile);

describe("pa-cli --tls", () => {
  let pa: RunningPa;
  let cert: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "pa-cli-tls-"));
    cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      key,
      "-out",
      cert,
    ]);
    pa = await startPa(bootstrap, { TLS_CERT: cert, TLS_KEY: key });
  });

  afterAll(async () => {
    await pa?.stop();
  });

  it("talks gRPC over TLS with the CA it is given", async () => {
    const result = await runCli(["--tls", "--ca", cert, "--server", `127.0.0.1:${pa.port}`, "health"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/pa\s+✔ SERVING/);
  });

  it("says how to trust a private CA when the certificate is not trusted (exit 1)", async () => {
    const result = await runCli(["--tls", "--server", `127.0.0.1:${pa.port}`, "topics"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`TLS with 127.0.0.1:${pa.port} failed`);
    expect(result.stderr).toContain("--ca");
  });
});
