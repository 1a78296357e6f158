// Vitest global setup for the PostgreSQL store's tests: makes sure the throwaway local cluster of
// scripts/postgres.sh runs and tells the tests its URL. A cluster that was already running is reused
// and left running; one started here is stopped afterwards, so a test run leaves no process behind.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";

const run = promisify(execFile);
const postgresScript = fileURLToPath(new URL("../../scripts/postgres.sh", import.meta.url));

declare module "vitest" {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

async function clusterIsRunning(): Promise<boolean> {
  try {
    await run("bash", [postgresScript, "status"]);
    return true;
  } catch {
    return false;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const alreadyRunning = await clusterIsRunning();
  let url: string;
  try {
    // Also when already running: `up` makes sure the `pa` database exists and prints the URL.
    ({ stdout: url } = await run("bash", [postgresScript, "up"], { timeout: 300_000 }));
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `PostgreSQL store tests need the local cluster, which did not start:\n${stdout}${stderr}`,
    );
  }
  project.provide("postgresUrl", url.trim());
  return async () => {
    if (!alreadyRunning) await run("bash", [postgresScript, "down"], { timeout: 60_000 });
  };
}
