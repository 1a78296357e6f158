// Vitest global setup for integration tests: makes sure the real local broker runs and tells the
// tests its bootstrap address. A broker that was already running is reused and left running; one
// started here is stopped afterwards, so `npm test` leaves no process behind.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";

const run = promisify(execFile);
const kafkaScript = fileURLToPath(new URL("../../scripts/kafka.sh", import.meta.url));

declare module "vitest" {
  export interface ProvidedContext {
    kafkaBootstrap: string;
  }
}

async function brokerIsRunning(): Promise<boolean> {
  try {
    await run("bash", [kafkaScript, "status"]);
    return true;
  } catch {
    return false;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const port = process.env.KAFKA_PORT ?? "9092";
  const alreadyRunning = await brokerIsRunning();
  if (!alreadyRunning) {
    try {
      await run("bash", [kafkaScript, "up"], { timeout: 300_000 });
    } catch (error) {
      const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
      throw new Error(
        `integration tests need the local Kafka broker, which did not start:\n${stdout}${stderr}`,
      );
    }
  }
  project.provide("kafkaBootstrap", `127.0.0.1:${port}`);
  return async () => {
    if (!alreadyRunning) await run("bash", [kafkaScript, "down"], { timeout: 60_000 });
  };
}
