// `pa-cli get`, `list` and `topics`: pa's unary queries as tables, or protobuf JSON with --json.

import { type MessageInitShape, toJsonString } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type Command, Option } from "commander";
import {
  type ListPaymentsRequestSchema,
  PaymentListSchema,
  PaymentSchema,
  PaymentService,
  TopicListSchema,
} from "../../gen/payment/payment_pb.js";
import { amountToMinor, listOf, parseCount, parseProvider, parseStatus, parseTime } from "../arguments.js";
import { UsageError } from "../cli-errors.js";
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
    .addHelpText(
      "after",
      "\nExamples:\n  $ pa-cli get pay_abc123\n  $ pa-cli get pay_abc123 --json | jq .amountMinor",
    )
    .action(async (id: string, _options: unknown, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      if (!id.trim()) throw new UsageError("get needs a payment id (e.g. pa-cli get pay_abc123)");
      const client = openConnection(globals).client(PaymentService);
      const payment = await client.getPayment({ paymentId: id }, { timeoutMs: CALL_TIMEOUT_MS });
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
    .option(
      "--filter <cel>",
      'a CEL expression over payment, applied after the other filters, e.g. \'payment.metadata["channel"] == "web"\'',
    )
    .option("--all", "follow every page to the end")
    .addHelpText(
      "after",
      `
Examples:
  $ pa-cli list --provider stripe --status failed --limit 20
  $ pa-cli list --currency KWD --min-amount 1.500 --json | jq -r .payments[].id
  $ pa-cli list --topic poc.kafka.go.side.car.payments --since 2026-11-23 --all
  $ pa-cli list --currency USD --filter 'payment.customer_email.endsWith("@acme.com")' --all`,
    )
    .action(async (options: ListOptions, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const request = listRequest(options);
      const client = openConnection(globals).client(PaymentService);
      const colors = colorsFor(process.stdout);
      let cursor = options.cursor ?? "";
      for (;;) {
        const page = await client.listPayments({ ...request, cursor }, { timeoutMs: CALL_TIMEOUT_MS });
        if (globals.json) print(toJsonString(PaymentListSchema, page));
        else {
          print(paymentsTable(page.payments, colors));
          const next = page.nextCursor && !options.all ? `; next page: --cursor ${page.nextCursor}` : "";
          // With --filter, total_count counts what the indexed filters match, before the expression.
          const of = options.filter ? `${page.totalCount} before --filter` : `${page.totalCount} matching`;
          const early = page.stoppedEarly ? "; stopped at pa's row budget, more may follow" : "";
          const failed = page.filterErrors > 0 ? `; --filter failed on ${page.filterErrors} (left out)` : "";
          print(colors.dim(`${page.payments.length} shown of ${of}${early}${failed}${next}`));
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

interface ListOptions {
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
