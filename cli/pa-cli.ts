// pa-cli: stream, query, produce and redrive payments from a terminal. Exit codes: 0 ok, 1 error,
// 2 usage (a bad option or argument, or a request pa refused as invalid).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { packageRoot } from "../server/package-root.js";
import { explainError } from "./cli-errors.js";
import { registerDlqCommands } from "./commands/dlq.js";
import { registerHealthCommand } from "./commands/health.js";
import { registerProduceCommand } from "./commands/produce.js";
import { registerQueryCommands } from "./commands/queries.js";
import { registerStreamCommand } from "./commands/stream.js";
import { colorsFor } from "./output/colors.js";

const { version } = JSON.parse(readFileSync(join(packageRoot(import.meta.url), "package.json"), "utf8")) as {
  version: string;
};

export function buildProgram(): Command {
  const program = new Command("pa-cli")
    .description("Watch, query, produce and redrive payments of a pa sidecar (native gRPC)")
    .version(version)
    .addOption(
      new Option("-s, --server <host:port>", "pa's address").env("PA_SERVER").default("localhost:50051"),
    )
    .option("--tls", "connect with TLS (https)")
    .option("--ca <file>", "PEM file of the CA that signed pa's certificate (with --tls)")
    .addOption(new Option("--token <token>", "sent as authorization: Bearer <token>").env("PA_TOKEN"))
    .option("--json", "machine-readable output: protobuf JSON (NDJSON for stream)")
    // Usage mistakes exit 2 (see run); help and version exit 0.
    .exitOverride()
    .showHelpAfterError("(add --help for usage and examples)")
    .configureOutput({ outputError: (text, write) => write(colorsFor(process.stderr).red(text)) })
    .addHelpText(
      "after",
      `
Examples:
  $ pa-cli stream poc.kafka.go.side.car.payments
  $ pa-cli list --provider stripe --limit 5
  $ pa-cli produce --topic poc.kafka.go.side.car.payments --count 100 --invalid 3
  $ pa-cli dlq list poc.kafka.go.side.car.payments
  $ PA_SERVER=pa.internal:443 pa-cli --tls topics`,
    );
  registerStreamCommand(program);
  registerQueryCommands(program);
  registerHealthCommand(program);
  registerProduceCommand(program);
  registerDlqCommands(program);
  return program;
}

/** Runs pa-cli with `argv` (as process.argv) and returns its exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    // Commander has printed its own message (or the help) already.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const server = (program.opts() as { server?: string }).server ?? "localhost:50051";
    const { message, exitCode } = explainError(error, server);
    process.stderr.write(`${colorsFor(process.stderr).red(`pa-cli: ${message}`)}\n`);
    if (exitCode === 2) process.stderr.write("(add --help for usage and examples)\n");
    return exitCode;
  }
}

// Exit explicitly: an idle HTTP/2 session or Kafka client must not keep a finished command alive.
process.exit(await run(process.argv));
