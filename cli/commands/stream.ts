// `pa-cli stream <topic>`: watch a topic's payments as they are processed, one line each (or NDJSON).
import { once } from "node:events";
import { toJsonString } from "@bufbuild/protobuf";
import { type Command, Option } from "commander";
import { listSnapshot, MAX_LISTED } from "../../client/list-snapshot.js";
import {
  type PaymentEvent,
  PaymentEventSchema,
  PaymentService,
  StreamStart,
} from "../../gen/payment/payment_pb.js";
import {
  parseCount,
  parseProvider,
  parseStartPosition,
  parseStatus,
  type StartPosition,
} from "../arguments.js";
import { type GlobalOptions, openConnection } from "../connection.js";
import { colorsFor } from "../output/colors.js";
import { formatEventLine } from "../output/event-line.js";
import { runResumableStream } from "../resumable-stream.js";

interface StreamOptions {
  provider?: number;
  status?: number;
  from?: StartPosition;
  existing?: number;
  allowGap?: boolean;
  filter?: string;
  showCursor?: boolean;
}

export function registerStreamCommand(program: Command): void {
  program
    .command("stream")
    .description("watch a topic's payments live (native gRPC); reconnects and resumes by itself")
    .argument("<topic>", "the Kafka topic to watch")
    .addOption(
      new Option("--provider <name>", "only this provider: stripe, razorpay or paypal").argParser(
        parseProvider,
      ),
    )
    .addOption(
      new Option("--status <status>", "only this status: pending, completed, failed or refunded").argParser(
        parseStatus,
      ),
    )
    .addOption(
      new Option(
        "--from <position>",
        'where live events start: "latest" (default), "earliest", an ISO time, or a cursor',
      ).argParser(parseStartPosition),
    )
    .option(
      "--filter <cel>",
      "only payments for which this CEL expression over payment is true, e.g. 'payment.amount_minor >= 100000 && payment.currency == \"USD\"'",
    )
    .option(
      "--allow-gap",
      "resuming from a cursor whose records Kafka has deleted (retention): start at the oldest record it holds instead of failing",
    )
    .option(
      "--show-cursor",
      "end each live line with its cursor, for get --consistent-with (a payment just streamed may not be stored yet) or --from",
    )
    .addOption(
      new Option("--existing <n>", "stored payments to show first (default 100; 0 for none)").argParser(
        parseCount,
      ),
    )
    .addHelpText(
      "after",
      `
Each line: 🆕 live / 📦 stored, [topic], payment id, provider, exact amount, status.
With --show-cursor, each live line ends with "| cursor <cursor>"; with --json, one PaymentEvent
per line (protobuf JSON, its cursor included), for jq. Ctrl-C prints a summary with the last
cursor; pass it to --from to continue where you left off. pa may not have stored a payment yet
when it is streamed: \`pa-cli get <id> --consistent-with <its cursor>\` waits for it.

Examples:
  $ pa-cli stream poc.kafka.go.side.car.payments
  $ pa-cli stream payments --provider stripe --status failed --existing 0
  $ pa-cli stream payments --from earliest --json | jq -r .payment.id
  $ pa-cli stream payments --from 2026-11-23T09:00:00Z
  $ pa-cli stream payments --show-cursor
  $ pa-cli stream payments --json | jq -r '"(.payment.id) (.cursor)"'
  $ pa-cli stream payments --filter 'payment.metadata["channel"] == "web" && payment.amount_minor >= 100000'`,
    )
    .action(async (topic: string, options: StreamOptions, command: Command) => {
      await streamPayments(topic, options, command.optsWithGlobals<GlobalOptions>());
    });
}

async function streamPayments(topic: string, options: StreamOptions, globals: GlobalOptions): Promise<void> {
  const connection = openConnection(globals);
  const client = connection.client(PaymentService);
  const out = colorsFor(process.stdout);
  const err = colorsFor(process.stderr);
  const stopping = new AbortController();
  const stop = () => stopping.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // A closed pipe (`| head`) is the reader saying it has enough.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") stop();
  });

  const counts = { existing: 0, live: 0, interruptions: 0 };
  const started = Date.now();
  if (!globals.json)
    process.stderr.write(err.dim(`Streaming ${topic} from ${connection.address} (Ctrl-C to stop)\n`));

  const write = async (line: string) => {
    // Respect a slow reader: stop taking events until stdout has drained.
    if (!process.stdout.write(`${line}\n`)) await once(process.stdout, "drain", { signal: stopping.signal });
  };

  let lastCursor: string | undefined;
  try {
    lastCursor = await runResumable();
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const total = counts.existing + counts.live;
  const interruptions =
    counts.interruptions === 1 ? "1 interruption" : `${counts.interruptions} interruptions`;
  const resume = lastCursor ? `; resume with --from ${lastCursor}` : "";
  process.stderr.write(
    `${err.bold("⏹ stopped")} after ${seconds}s: ${total} payments (${counts.existing} existing, ${counts.live} new), ${interruptions}${resume}\n`,
  );

  async function runResumable(): Promise<string | undefined> {
    const request = {
      topic,
      ...(options.provider !== undefined ? { provider: options.provider } : {}),
      ...(options.status !== undefined ? { status: options.status } : {}),
      ...(options.existing !== undefined ? { existingLimit: options.existing } : {}),
      ...(options.from ? { startPosition: options.from } : {}),
      ...(options.allowGap ? { allowCursorFallback: true } : {}),
      ...(options.filter ? { filter: options.filter } : {}),
    };
    // From "latest" with stored payments first: listed, then streamed from the list's as_of.
    const listed =
      (!options.from || (options.from.case === "start" && options.from.value === StreamStart.LATEST)) &&
      options.existing !== 0 &&
      (options.existing ?? 0) <= MAX_LISTED;
    return runResumableStream({
      client,
      signal: stopping.signal,
      request,
      ...(listed ? { snapshot: (signal: AbortSignal) => listSnapshot(client, request, signal) } : {}),
      onEvent: async (event: PaymentEvent) => {
        if (event.eventType === "existing") counts.existing++;
        else counts.live++;
        try {
          await write(
            globals.json
              ? toJsonString(PaymentEventSchema, event)
              : formatEventLine(event, out, { cursor: options.showCursor ?? false }),
          );
        } catch {
          // Aborted while waiting for a drain: the stream is ending anyway.
        }
      },
      onReconnecting: ({ attempt, delayMs, reason, fromCursor }) => {
        const wait = `${(delayMs / 1000).toFixed(1)}s`;
        // pa's own resume hint is for API users: pa-cli resumes by itself.
        const why = reason.replace(/ \(resume with start_cursor[^)]*\)/, "");
        if (attempt === 1) {
          counts.interruptions++;
          const from = fromCursor ? "from the last cursor" : "with the original request (no event seen yet)";
          process.stderr.write(
            err.yellow(`⚠ stream interrupted (${why}); reconnecting in ${wait} ${from}\n`),
          );
        } else {
          process.stderr.write(
            err.yellow(`⚠ still not connected (${why}); retrying in ${wait} (attempt ${attempt})\n`),
          );
        }
      },
      onReconnected: () => process.stderr.write(err.green("✔ reconnected\n")),
    });
  }
}
