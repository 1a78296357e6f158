// `pa-cli dlq list` and `pa-cli dlq redrive`: work through a topic's dead letters
// (pa.admin.v1.DeadLetterService) from a terminal.
import { type MessageInitShape, toJsonString } from "@bufbuild/protobuf";
import { type Command, Option } from "commander";
import {
  DeadLetterService,
  ListDeadLettersResponseSchema,
  type RedriveDeadLettersRequestSchema,
  RedriveDeadLettersResponseSchema,
} from "../../gen/pa/admin/v1/dead_letter_service_pb.js";
import { listOf, parseCount, parseOffsetRange, parseOffsets } from "../arguments.js";
import { UsageError } from "../cli-errors.js";
import { type GlobalOptions, openConnection } from "../connection.js";
import { colorsFor } from "../output/colors.js";
import { deadLettersTable, redriveTable } from "../output/tables.js";
import { CALL_TIMEOUT_MS } from "./queries.js";

// A redrive produces to Kafka and waits for every acknowledgement: give it longer than a query.
const REDRIVE_TIMEOUT_MS = 120_000;

interface ListOptions {
  limit?: number;
  pageToken?: string;
  error?: string[];
  all?: boolean;
}

interface RedriveOptions {
  all?: boolean;
  offsets?: { partition: number; offset: bigint }[];
  range?: { partition: number; fromOffset: bigint; toOffset: bigint };
  force?: boolean;
  dryRun?: boolean;
}

export function registerDlqCommands(program: Command): void {
  const dlq = program
    .command("dlq")
    .description("list and redrive the dead letters of a topic")
    .addHelpText(
      "after",
      `
Examples:
  $ pa-cli dlq list poc.kafka.go.side.car.payments
  $ pa-cli dlq redrive poc.kafka.go.side.car.payments --offsets 0:12,2:40 --dry-run
  $ pa-cli dlq redrive poc.kafka.go.side.car.payments --all`,
    );

  dlq
    .command("list")
    .description("dead letters of a source topic, oldest first, with what was wrong")
    .argument("<topic>", "the source topic (not its .dlq)")
    .addOption(
      new Option("--limit <n>", "entries per page (pa: 50 by default, at most 1000)").argParser(parseCount),
    )
    .option("--page-token <token>", "the page after the one that printed this token")
    .addOption(
      new Option("--error <codes>", "only these error codes, e.g. invalid_json,invalid_amount").argParser(
        listOf((code: string) => code),
      ),
    )
    .option("--all", "follow every page to the end")
    .addHelpText(
      "after",
      "\nExamples:\n  $ pa-cli dlq list payments --error invalid_amount\n  $ pa-cli dlq list payments --json",
    )
    .action(async (topic: string, options: ListOptions, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const client = openConnection(globals).client(DeadLetterService);
      const colors = colorsFor(process.stdout);
      let pageToken = options.pageToken ?? "";
      for (;;) {
        const page = await client.listDeadLetters(
          { topic, pageToken, pageSize: options.limit ?? 0, errors: options.error ?? [] },
          { timeoutMs: CALL_TIMEOUT_MS },
        );
        if (globals.json) process.stdout.write(`${toJsonString(ListDeadLettersResponseSchema, page)}\n`);
        else {
          if (page.deadLetters.length > 0)
            process.stdout.write(`${deadLettersTable(page.deadLetters, colors)}\n`);
          const next =
            page.nextPageToken && !options.all ? `; next page: --page-token ${page.nextPageToken}` : "";
          process.stdout.write(
            `${colors.dim(`${page.deadLetters.length} shown of ${page.totalCount} dead letters of ${topic}${next}`)}\n`,
          );
        }
        if (!options.all || !page.nextPageToken) break;
        pageToken = page.nextPageToken;
      }
    });

  dlq
    .command("redrive")
    .description("republish dead letters to their source topic (after fixing what rejected them)")
    .argument("<topic>", "the source topic (not its .dlq)")
    .option("--all", "every dead letter of the topic")
    .addOption(
      new Option(
        "--offsets <refs>",
        "these dead letters, as source partition:offset (e.g. 0:12,1:40)",
      ).argParser(parseOffsets),
    )
    .addOption(
      new Option("--range <range>", "source offsets from-to of one partition (e.g. 0:10-20)").argParser(
        parseOffsetRange,
      ),
    )
    .option("--force", "also redrive letters that were redriven before and failed again")
    .option("--dry-run", "only show what would be redriven")
    .addHelpText(
      "after",
      "\nExamples:\n  $ pa-cli dlq redrive payments --offsets 0:12 --dry-run\n  $ pa-cli dlq redrive payments --all",
    )
    .action(async (topic: string, options: RedriveOptions, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const request = redriveRequest(topic, options);
      const client = openConnection(globals).client(DeadLetterService);
      const result = await client.redriveDeadLetters(request, { timeoutMs: REDRIVE_TIMEOUT_MS });
      if (globals.json) {
        process.stdout.write(`${toJsonString(RedriveDeadLettersResponseSchema, result)}\n`);
        return;
      }
      const colors = colorsFor(process.stdout);
      if (result.redriven.length + result.skipped.length > 0) {
        process.stdout.write(`${redriveTable(result.redriven, result.skipped, colors)}\n`);
      }
      const verb = options.dryRun ? "would redrive" : "redrove";
      process.stdout.write(`${verb} ${result.redriven.length}, skipped ${result.skipped.length}\n`);
    });
}

function redriveRequest(
  topic: string,
  options: RedriveOptions,
): MessageInitShape<typeof RedriveDeadLettersRequestSchema> {
  const chosen = [options.all, options.offsets, options.range].filter((choice) => choice !== undefined);
  if (chosen.length !== 1) {
    throw new UsageError(
      "dlq redrive needs exactly one of --all, --offsets partition:offset,... or --range p:from-to",
    );
  }
  const base = { topic, force: Boolean(options.force), dryRun: Boolean(options.dryRun) };
  if (options.offsets) {
    const refs = options.offsets.map((ref) => ({
      originalPartition: ref.partition,
      originalOffset: ref.offset,
    }));
    return { ...base, selection: { case: "refs", value: { refs } } };
  }
  if (options.range) return { ...base, selection: { case: "range", value: options.range } };
  return { ...base, selection: { case: "all", value: true } };
}
