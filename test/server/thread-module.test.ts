// A thread module starts the same way compiled (the .js beside its caller, run by Node as it is)
// and from the sources (the .ts, through tsx's loader), takes its workerData, and a module that
// throws while loading reaches the caller as the worker's "error", which is how the store learns
// that its writer thread could not start.
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { startThreadModule } from "../../server/thread-module.js";

const dir = mkdtempSync(join(tmpdir(), "pa-thread-module-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// As in dist/: the package's "type": "module" makes the .js files ES modules.
writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));

// Each variant says where it ran, so a test cannot pass on the other file by mistake.
const echo = (ran: string, typed: boolean) => `
import { parentPort, workerData } from "node:worker_threads";
${typed ? "interface Data { n: number }\nconst data: Data = workerData as Data;" : "const data = workerData;"}
parentPort${typed ? "!" : ""}.postMessage({ ran: "${ran}", twice: data.n * 2, isTs: import.meta.url.endsWith(".ts") });
`;
writeFileSync(join(dir, "echo-thread.js"), echo("js", false));
writeFileSync(join(dir, "echo-thread.ts"), echo("ts", true));
const failing = `throw new Error("cannot open the database");\n`;
writeFileSync(join(dir, "failing-thread.js"), failing);
writeFileSync(
  join(dir, "failing-thread.ts"),
  `const reason: string = "cannot open the database";\nthrow new Error(reason);\n`,
);

const callerUrl = (extension: string) => pathToFileURL(join(dir, `caller.${extension}`)).href;

async function firstMessage(worker: Worker): Promise<unknown> {
  try {
    const [message] = await once(worker, "message");
    return message;
  } finally {
    await worker.terminate();
  }
}

describe.each(["js", "ts"])("startThreadModule from a .%s caller", (extension) => {
  it(`runs the .${extension} module beside it with its workerData`, async () => {
    const worker = startThreadModule(callerUrl(extension), "./echo-thread", { workerData: { n: 21 } });
    expect(await firstMessage(worker)).toEqual({ ran: extension, twice: 42, isTs: extension === "ts" });
  });

  it("reports a module that throws while loading as the worker's error, then its exit", async () => {
    const worker = startThreadModule(callerUrl(extension), "./failing-thread", {});
    const exitCode = new Promise<number>((resolve) => worker.once("exit", resolve));
    const [error] = (await once(worker, "error")) as [Error];
    expect(error.message).toContain("cannot open the database");
    expect(await exitCode).not.toBe(0);
  });
});
