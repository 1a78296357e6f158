// `pa-cli get`, `list` and `topics`: pa's unary queries as tables, or protobuf JSON with --json.

import { type MessageInitShape, toJsonString } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Command, Option } from "commander";
import ms from "ms";
import {
  type ListPaymentsRequestSchema,
  PaymentListSchema,
  PaymentSchema,
  PaymentService,
  TopicListSchema,
} from "../../gen/payment/payment_pb.js";
import {
  amountToMinor,
  listOf,
  parseCount,
  parseCursor,
  parseProvider,
  parseStatus,
  parseTime,
  parseTimeout,
} from "../arguments.js";
import { TimedOutError, UsageError } from "../cli-errors.js";
import { type GlobalOptions, openConnection } from "../connection.js";
import { colorsFor } from "../output/colors.js";
import { paymentDetails, paymentsTable, topicsTable } from "../output/tables.js";

/** How long a query may take before pa-cli gives up on it. */
export const CALL_TIMEOUT_MS = 15_000;

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function registerQueryCommands(program: Command): void {
  program
    .command("get")
    .description("show one payment by id, with where pa read it")
    .argument("<id>", "the payment id (e.g. pay_abc123)")
    .addOption(
      new Option(
        "--consistent-with <cursor>",
        "a cursor from stream (--show-cursor, or .cursor in --json) or list's as_of: first wait until pa's store holds the stream up to it",
      ).argParser(parseCursor),
    )
    .addOption(timeoutOption())
    .addHelpText(
      "after",
      `
A payment just streamed may not be stored yet for a few milliseconds (pa's store follows the
stream). With --consistent-with and the event's cursor, get waits for the store instead of
answering "not found"; if the store has not caught up within --timeout it exits 3.

Examples:
  $ pa-cli get pay_abc123
  $ pa-cli get pay_abc123 --json | jq .amountMinor
  $ pa-cli stream payments --show-cursor     # ... | cursor eyJ2IjoxLCJ0Ijoi...
  $ pa-cli get pay_abc123 --consistent-with eyJ2IjoxLCJ0Ijoi... --timeout 5s`,
    )
    .action(async (id: string, options: GetOptions, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      if (!id.trim()) throw new UsageError("get needs a payment id (e.g. pa-cli get pay_abc123)");
      const client = openConnection(globals).client(PaymentService);
      const consistentWith = options.consistentWith;
      const payment = await notStoredInTime(
        client.getPayment(
          { paymentId: id, ...(consistentWith ? { consistentWith } : {}) },
          { timeoutMs: options.timeout },
        ),
        consistentWith,
        options.timeout,
        `payment ${id}`,
      );
      print(
        globals.json
          ? toJsonString(PaymentSchema, payment)
          : paymentDetails(payment, colorsFor(process.stdout)),
      );
    });

  program
    .command("list")
    .description("list stored payments, newest first, with filters and paging")
    .addOption(
      new Option("--provider <names>", "stripe, razorpay, paypal (comma-separated)").argParser(
        listOf(parseProvider),
      ),
    )
    .addOption(
      new Option("--status <statuses>", "pending, completed, failed, refunded (comma-separated)").argParser(
        listOf(parseStatus),
      ),
    )
    .option("--topic <topic>", "only payments read from this topic")
    .option("--currency <code>", "ISO 4217 code, e.g. USD")
    .option("--email <address>", "only this customer (exact, any case)")
    .addOption(new Option("--since <time>", "created at or after this ISO time").argParser(parseTime))
    .addOption(new Option("--until <time>", "created before this ISO time").argParser(parseTime))
    .option("--min-amount <amount>", "at least this amount in major units of --currency (e.g. 10.50)")
    .option("--max-amount <amount>", "at most this amount in major units of --currency")
    .addOption(
      new Option("--limit <n>", "payments per page (pa: 10 by default, at most 1000)").argParser(parseCount),
    )
    .option("--cursor <cursor>", "the page after the one that printed this cursor")
    .addOption(
      new Option(
        "--consistent-with <cursor>",
        "a cursor from stream: read only once pa's store holds the stream up to it",
      ).argParser(parseCursor),
    )
    .option(
      "--filter <cel>",
      'a CEL expression over payment, applied after the other filters, e.g. \'payment.metadata["channel"] == "web"\'',
    )
    .option("--all", "follow every page to the end")
    .addOption(timeoutOption())
    .addHelpText(
      "after",
      `
Examples:
  $ pa-cli list --provider stripe --status failed --limit 20
  $ pa-cli list --currency KWD --min-amount 1.500 --json | jq -r .payments[].id
  $ pa-cli list --topic poc.kafka.go.side.car.payments --since 2026-11-23 --all
  $ pa-cli list --currency USD --filter 'payment.customer_email.endsWith("@acme.com")' --all
  $ pa-cli list --topic payments --consistent-with eyJ2IjoxLCJ0Ijoi...

With --topic, the summary ends with the store position the page was read at (as_of):
\`pa-cli stream <topic> --from <as_of> --existing 0\` goes on with exactly what the list did not have.`,
    )
    .action(async (options: ListOptions, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const request = listRequest(options);
      const client = openConnection(globals).client(PaymentService);
      const colors = colorsFor(process.stdout);
      let cursor = options.cursor ?? "";
      for (;;) {
        const page = await notStoredInTime(
          client.listPayments({ ...request, cursor }, { timeoutMs: options.timeout }),
          options.consistentWith,
          options.timeout,
          "the list",
        );
        if (globals.json) print(toJsonString(PaymentListSchema, page));
        else {
          print(paymentsTable(page.payments, colors));
          const next = page.nextCursor && !options.all ? `; next page: --cursor ${page.nextCursor}` : "";
          // With --filter, total_count counts what the indexed filters match, before the expression.
          const of = options.filter ? `${page.totalCount} before --filter` : `${page.totalCount} matching`;
          const early = page.stoppedEarly ? "; stopped at pa's row budget, more may follow" : "";
          const failed = page.filterErrors > 0 ? `; --filter failed on ${page.filterErrors} (left out)` : "";
          const asOf =
            page.asOf && (!page.nextCursor || !options.all)
              ? `; as of ${page.asOf} (stream on with --from ${page.asOf} --existing 0)`
              : "";
          print(colors.dim(`${page.payments.length} shown of ${of}${early}${failed}${next}${asOf}`));
        }
        if (!options.all || !page.nextCursor) break;
        cursor = page.nextCursor;
      }
    });

  program
    .command("topics")
    .description("topics pa is consuming: subscribers, partitions, progress, lag, dead letters")
    .addHelpText("after", "\nExamples:\n  $ pa-cli topics\n  $ pa-cli topics --json | jq .details")
    .action(async (_options: unknown, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const client = openConnection(globals).client(PaymentService);
      const topics = await client.getTopics({}, { timeoutMs: CALL_TIMEOUT_MS });
      if (globals.json) print(toJsonString(TopicListSchema, topics));
      else if (topics.details.length === 0)
        print("no active topics (a topic becomes active with its first stream)");
      else print(topicsTable(topics.details, colorsFor(process.stdout)));
    });
}

function timeoutOption(): Option {
  return new Option("--timeout <duration>", "how long pa may take, waiting included (pa waits 60s at most)")
    .argParser(parseTimeout)
    .default(CALL_TIMEOUT_MS, ms(CALL_TIMEOUT_MS));
}

interface GetOptions {
  consistentWith?: string;
  timeout: number;
}

/**
 * A read with --consistent-with that ran out of time: pa's store had not caught up with the
 * stream (exit 3, worth trying again), not "pa did not answer".
 */
async function notStoredInTime<T>(
  call: Promise<T>,
  consistentWith: string | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (!consistentWith || ConnectError.from(error).code !== Code.DeadlineExceeded) throw error;
    throw new TimedOutError(
      `${what}: not stored yet. pa's store had not caught up with --consistent-with within ${ms(timeoutMs)} ` +
        "(it follows the stream and lags behind it now); try again, or allow longer with --timeout 30s",
    );
  }
}

interface ListOptions {
  consistentWith?: string;
  timeout: number;
  provider?: number[];
  status?: number[];
  topic?: string;
  currency?: string;
  email?: string;
  since?: number;
  until?: number;
  minAmount?: string;
  maxAmount?: string;
  limit?: number;
  cursor?: string;
  all?: boolean;
  filter?: string;
}

function listRequest(options: ListOptions): MessageInitShape<typeof ListPaymentsRequestSchema> {
  const request: MessageInitShape<typeof ListPaymentsRequestSchema> = {
    providers: options.provider ?? [],
    statuses: options.status ?? [],
  };
  if (options.topic) request.topic = options.topic;
  if (options.currency) request.currency = options.currency;
  if (options.email) request.customerEmail = options.email;
  if (options.filter) request.filter = options.filter;
  if (options.consistentWith) request.consistentWith = options.consistentWith;
  if (options.since !== undefined) request.createdFrom = timestampFromMs(options.since);
  if (options.until !== undefined) request.createdTo = timestampFromMs(options.until);
  if (options.limit !== undefined) request.limit = options.limit;
  for (const [flag, value, field] of [
    ["--min-amount", options.minAmount, "minAmountMinor"],
    ["--max-amount", options.maxAmount, "maxAmountMinor"],
  ] as const) {
    if (value === undefined) continue;
    if (!options.currency) throw new UsageError(`${flag} needs --currency (amounts are exact per currency)`);
    try {
      request[field] = amountToMinor(value, options.currency, flag);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  return request;
}
