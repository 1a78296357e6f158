// Runs the real `pa-cli` bin (cli/bin/pa-cli.js, through its shebang) as a child process, as a
// person's shell would, without colours so that lines compare as text.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { waitUntil } from "../support/streams.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = fileURLToPath(new URL("../../cli/bin/pa-cli.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Complete stdout lines so far. */
  lines(): string[];
  /** Waits until `condition` holds for the output so far (generous: the machine is shared). */
  waitFor(condition: (cli: RunningCli) => boolean, describe: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>;
}

function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  // Only what a shell would pass: no PA_* or KAFKA_* of the developer's leak into the test.
  return { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1", ...env };
}

export function startCli(args: string[], env: Record<string, string> = {}): RunningCli {
  const child = spawn(bin, args, { cwd: root, env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const cli: RunningCli = {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    lines: () => stdout.split("\n").slice(0, -1),
    exited,
    waitFor: (condition, describe, timeoutMs = 60_000) =>
      waitUntil(
        () => {
          if (child.exitCode !== null) {
            throw new Error(`pa-cli exited (${child.exitCode}) before: ${describe}\n${stdout}\n${stderr}`);
          }
          return condition(cli);
        },
        timeoutMs,
        () => `${describe}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
      ),
  };
  return cli;
}

/** Runs pa-cli to its end. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const cli = startCli(args, env);
  const code = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}
