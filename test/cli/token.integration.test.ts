// pa-cli's --token / PA_TOKEN against pa with AUTH_MODE=token, both in their own processes: the
// key is sent as a bearer, a missing or revoked one is a clear error, and SIGHUP reloads the
// tokens file without ending the stream that is open.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { newApiKey, sha256Hex, writeTokensFile } from "../support/auth.js";
import { createTopics, produce, uniqueTopic } from "../support/kafka.js";
import { waitUntil } from "../support/streams.js";
import { runCli, startCli } from "./cli-process.js";
import { freePort, type PaProcess, startPaProcess } from "./pa-process.js";

const bootstrap = inject("kafkaBootstrap");
const topic = uniqueTopic("cli-token");
const tokensPath = join(mkdtempSync(join(tmpdir(), "pa-cli-tokens-")), "tokens.json");
const ci = newApiKey();
const laptop = newApiKey();
const both = [
  { name: "ci", sha256: sha256Hex(ci), scope: "read:*" },
  { name: "laptop", sha256: sha256Hex(laptop), scope: "read:*" },
];

const payment = (id: string) => ({
  key: id,
  value: JSON.stringify({ id, provider: "stripe", amount: 100, currency: "usd", status: "succeeded" }),
});

let pa: PaProcess;
let server: string;

beforeAll(async () => {
  writeTokensFile(tokensPath, both);
  await createTopics(bootstrap, [topic]);
  await produce(bootstrap, topic, [payment("cli_tok_1")]);
  const port = await freePort();
  server = `127.0.0.1:${port}`;
  pa = await startPaProcess(port, {
    KAFKA_BROKERS: bootstrap,
    KAFKA_TOPIC: "",
    KAFKA_GROUP_ID: `test-cli-token-${randomBytes(4).toString("hex")}`,
    DATA_DIR: mkdtempSync(join(tmpdir(), "pa-cli-token-data-")),
    AUTH_MODE: "token",
    AUTH_TOKENS_FILE: tokensPath,
  });
});
afterAll(async () => {
  await pa?.stop();
});

describe("pa-cli with AUTH_MODE=token", () => {
  it("says how to authenticate when no token is given", async () => {
    const result = await runCli(["topics", "--server", server]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /not authenticated: .*send authorization: Bearer <API key>.*pass --token or set PA_TOKEN/,
    );
  });

  it("sends --token and PA_TOKEN as a bearer", async () => {
    expect((await runCli(["topics", "--server", server, "--token", ci])).code).toBe(0);
    expect((await runCli(["topics", "--server", server], { PA_TOKEN: ci })).code).toBe(0);
    const wrong = await runCli(["topics", "--server", server, "--token", newApiKey()]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/not authenticated: the API key is not known/);
  });

  it("on SIGHUP, revokes a key removed from the file for its next call; its open stream goes on", async () => {
    const stream = startCli(["stream", topic, "--from", "earliest", "--existing", "0", "--server", server], {
      PA_TOKEN: laptop,
    });
    await stream.waitFor((c) => c.lines().length >= 1, "the first payment");

    writeTokensFile(
      tokensPath,
      both.filter((entry) => entry.name !== "laptop"),
    );
    pa.child.kill("SIGHUP");
    await waitUntil(() => pa.output().includes("SIGHUP: reloading"), 10_000, pa.output);
    await waitUntil(
      async () => (await runCli(["topics", "--server", server], { PA_TOKEN: laptop })).code === 1,
      10_000,
    );
    expect((await runCli(["topics", "--server", server], { PA_TOKEN: ci })).code).toBe(0);

    await produce(bootstrap, topic, [payment("cli_tok_2")]);
    await stream.waitFor((c) => c.lines().length >= 2, "the payment produced after the reload");
    expect(stream.lines().join("\n")).toMatch(/cli_tok_1[\s\S]*cli_tok_2/);
    stream.child.kill("SIGINT");
    expect(await stream.exited).toBe(0);
    expect(pa.child.exitCode).toBeNull();
  });
});
