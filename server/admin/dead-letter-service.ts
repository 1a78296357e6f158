// pa.admin.v1.DeadLetterService: lists the dead letters of a source topic and redrives them to it,
// so the DLQ is a queue an operator works through. Every call sees the DLQ up to its current end:
// what earlier calls read is kept (dead-letter-cache.ts) and only what was appended since is read
// (dead-letter-reader.ts); Kafka's log never changes below its end, so nothing goes stale.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  type DeadLetter,
  DeadLetterRefSchema,
  DeadLetterSchema,
  DeadLetterService,
  ListDeadLettersResponseSchema,
  type RedriveDeadLettersRequest,
  RedriveDeadLettersResponseSchema,
  RedriveLandingSchema,
  type RedriveResult,
  RedriveResultSchema,
} from "../../gen/pa/admin/v1/dead_letter_service_pb.js";
import type { Access } from "../auth/access.js";
import { identityKey } from "../auth/identity.js";
import { maskEmailsIn } from "../auth/pii-mask.js";
import type { LibrdkafkaConfig } from "../kafka/client-config.js";
import { kafkaDeadLetterSource } from "../kafka/dead-letter-source.js";
import { kafkaRecordPublisher } from "../kafka/record-publisher.js";
import { type TopicAdmin, TopicNotFoundError } from "../kafka/topic-admin.js";
import type { Logger } from "../observability/logger.js";
import { type Tracing, traceContextKey } from "../observability/tracing.js";
import {
  errorFilter,
  pageSize,
  redriveChoice,
  SourceTopicNotFoundError,
  sourceTopic,
} from "./admin-requests.js";
import { DeadLetterCache } from "./dead-letter-cache.js";
import { type DeadLetterEntry, indexDeadLetters } from "./dead-letter-index.js";
import { pageDeadLetters } from "./dead-letter-page.js";
import { DeadLetterReadError, readDeadLetterRange } from "./dead-letter-reader.js";
import type { DeadLetterRecord, RecordPosition } from "./dead-letter-record.js";
import { decodePageToken, encodePageToken } from "./page-token.js";
import { type RedriveTrace, republish } from "./redrive.js";
import { planRedrive, type RedriveChoice } from "./redrive-selection.js";

export interface DeadLetterServiceDependencies {
  admin: TopicAdmin;
  /** Connection settings for the reader's consumer and the redrive's producer. */
  settings: LibrdkafkaConfig;
  /** The `admin` grant, and the topic visible to the caller: no topic a stream could not reach. */
  access: Access;
  logger: Logger;
  /** How long reading a DLQ to its end may take before the call fails UNAVAILABLE. */
  readTimeoutMs?: number;
  /** Dead letters kept between calls, over all topics (DLQ_CACHE_RECORDS; 0: none). */
  cacheRecords: number;
  /** A redriven record continues its original trace (and links the redrive call's). */
  tracing: Tracing;
}

export function registerDeadLetterService(router: ConnectRouter, deps: DeadLetterServiceDependencies): void {
  /** The source topic's partition count and its DLQ's entries, after checking the topic exists. */
  async function entriesOf(
    topic: string,
  ): Promise<{ partitions: number; entries: readonly DeadLetterEntry[] }> {
    let partitions: number;
    try {
      partitions = await deps.admin.partitionCount(topic);
    } catch (error) {
      if (error instanceof TopicNotFoundError) throw new SourceTopicNotFoundError(topic);
      throw new DeadLetterReadError(`cannot ask Kafka about topic "${topic}": ${String(error)}`);
    }
    const records = await cache.letters(topic);
    let entries = indexed.get(records);
    if (!entries) {
      entries = indexDeadLetters(topic, records);
      indexed.set(records, entries);
    }
    return { partitions, entries };
  }
  // Collapsing 50,000 letters into entries took most of a call's 300 ms; an unchanged DLQ comes
  // back from the cache as the same array, so its entries are reused.
  const indexed = new WeakMap<readonly DeadLetterRecord[], DeadLetterEntry[]>();
  const readerOptions = {
    open: kafkaDeadLetterSource(deps.settings),
    admin: deps.admin,
    ...(deps.readTimeoutMs !== undefined ? { timeoutMs: deps.readTimeoutMs } : {}),
  };
  const cache = new DeadLetterCache(
    (topic, from) => readDeadLetterRange(topic, readerOptions, from),
    deps.cacheRecords,
  );

  const publisher = kafkaRecordPublisher(deps.settings);

  // Redrives run one at a time: each reads the receipts the previous one wrote, so two calls
  // arriving together (a double click) cannot both republish the same letter. Within this process;
  // several pa instances do not coordinate.
  let previousRedrive: Promise<unknown> = Promise.resolve();
  function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = previousRedrive.then(work, work);
    previousRedrive = run.catch(() => undefined);
    return run;
  }

  router.service(DeadLetterService, {
    async listDeadLetters(request, context) {
      const identity = context.values.get(identityKey);
      const topic = sourceTopic(request.topic, (named) => deps.access.requireAdmin(identity, named));
      const size = pageSize(request.pageSize);
      const errors = errorFilter(request.errors);
      const after = request.pageToken ? decodePageToken(request.pageToken, topic, errors) : undefined;
      const { entries } = await entriesOf(topic);
      const page = pageDeadLetters(entries, { errors, after, size });
      // A dead letter is a raw record: it may hold anything the producer sent, e-mails included.
      const shown = identity.grants.pii ? toDeadLetter : withoutRecord;
      return create(ListDeadLettersResponseSchema, {
        deadLetters: page.entries.map(shown),
        nextPageToken: page.continueAfter ? encodePageToken(topic, errors, page.continueAfter) : "",
        totalCount: BigInt(page.total),
      });
    },

    async redriveDeadLetters(request, context) {
      const identity = context.values.get(identityKey);
      const topic = sourceTopic(request.topic, (named) => deps.access.requireAdmin(identity, named));
      const choice = redriveChoice(request);
      const trace = { tracing: deps.tracing, call: context.values.get(traceContextKey) };
      return oneAtATime(() => redrive(topic, choice, request, trace));
    },
  });

  async function redrive(
    topic: string,
    choice: RedriveChoice,
    request: RedriveDeadLettersRequest,
    trace: RedriveTrace,
  ) {
    const { partitions, entries } = await entriesOf(topic);
    const plan = planRedrive(entries, choice, request.force);
    const redriven: RedriveResult[] = [];
    const skipped: RedriveResult[] = plan.skipped.map(({ source, detail }) => result(source, { detail }));
    if (request.dryRun) {
      redriven.push(...plan.redrive.map((entry) => result(entry.source, {})));
    } else {
      for (const outcome of await republish(publisher, topic, partitions, plan.redrive, trace)) {
        if ("landed" in outcome) {
          redriven.push(
            result(outcome.source, {
              newPartition: outcome.landed.partition,
              newOffset: BigInt(outcome.landed.offset),
              ...(outcome.receiptFailed
                ? {
                    detail: `redriven, but its receipt could not be written to the DLQ (${outcome.receiptFailed}); a later redrive would republish it again`,
                  }
                : {}),
            }),
          );
        } else {
          skipped.push(
            result(outcome.source, { detail: `producing it failed: ${outcome.failed}; try again` }),
          );
        }
      }
    }
    deps.logger.info(
      {
        topic,
        selection: describeChoice(choice),
        force: request.force,
        dryRun: request.dryRun,
        redriven: redriven.length,
        skipped: skipped.length,
      },
      `[DLQ:${topic}] Redrive of ${describeChoice(choice)}${flags(request)}: ${redriven.length} ${request.dryRun ? "would be redriven" : "redriven"}, ${skipped.length} skipped`,
    );
    return create(RedriveDeadLettersResponseSchema, { redriven, skipped });
  }
}

function toDeadLetter(entry: DeadLetterEntry): DeadLetter {
  return create(DeadLetterSchema, {
    id: entry.id,
    originalTopic: entry.source.topic,
    originalPartition: entry.source.partition,
    originalOffset: BigInt(entry.source.offset),
    key: entry.key,
    value: entry.value,
    error: entry.error,
    reason: entry.reason,
    retryCount: entry.retryCount,
    ...(entry.deadLetteredAtMs > 0 ? { deadLetteredAt: timestampFromMs(entry.deadLetteredAtMs) } : {}),
    dlqPartition: entry.dlq.partition,
    dlqOffset: BigInt(entry.dlq.offset),
    copies: entry.copies,
    redriveCount: entry.redriveCount,
    ...(entry.failedAgainAs
      ? {
          failedAgainAs: create(DeadLetterRefSchema, {
            originalPartition: entry.failedAgainAs.partition,
            originalOffset: BigInt(entry.failedAgainAs.offset),
          }),
        }
      : {}),
    ...(entry.lastRedrive
      ? {
          lastRedrive: create(RedriveLandingSchema, {
            partition: entry.lastRedrive.landed.partition,
            offset: BigInt(entry.lastRedrive.landed.offset),
            redrivenAt: timestampFromMs(entry.lastRedrive.atMs),
          }),
        }
      : {}),
  });
}

/** A dead letter for an identity without `pii`: no key or value, and no e-mail in the reason. */
function withoutRecord(entry: DeadLetterEntry): DeadLetter {
  const letter = toDeadLetter(entry);
  letter.key = "";
  letter.value = "";
  letter.reason = maskEmailsIn(letter.reason);
  return letter;
}

function result(
  source: RecordPosition,
  fields: { newPartition?: number; newOffset?: bigint; detail?: string },
): RedriveResult {
  return create(RedriveResultSchema, {
    source: create(DeadLetterRefSchema, {
      originalPartition: source.partition,
      originalOffset: BigInt(source.offset),
    }),
    ...fields,
  });
}

function describeChoice(choice: RedriveChoice): string {
  switch (choice.kind) {
    case "all":
      return "all";
    case "refs":
      return `${choice.refs.length} ref${choice.refs.length === 1 ? "" : "s"}`;
    case "range":
      return `partition ${choice.partition} offsets ${choice.fromOffset}-${choice.toOffset}`;
  }
}

function flags(request: RedriveDeadLettersRequest): string {
  const set = [request.force ? "force" : "", request.dryRun ? "dry run" : ""].filter(Boolean);
  return set.length > 0 ? ` (${set.join(", ")})` : "";
}
