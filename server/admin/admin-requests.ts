// Checks DeadLetterService requests before any Kafka work, each failure with a message that says
// what to fix (RequestError, given its Connect code in rpc/error-mapping.ts).
import type { RedriveDeadLettersRequest } from "../../gen/pa/admin/v1/dead_letter_service_pb.js";
import { RequestError, type TopicPolicy } from "../rpc/request-validation.js";
import type { RedriveChoice } from "./redrive-selection.js";

/** The source topic does not exist, so it has no dead letters to list or redrive. */
export class SourceTopicNotFoundError extends Error {
  override readonly name = "SourceTopicNotFoundError";
  constructor(readonly topic: string) {
    super(`topic "${topic}" does not exist, so it has no dead letters; name an existing source topic`);
  }
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;
/** Refs one redrive may name; `all` or a range covers more. */
export const MAX_REFS = 10_000;

const errorCode = /^[a-z][a-z0-9_]{0,63}$/;

/** The source topic, legal and allowed by TOPIC_ALLOWLIST; its `.dlq` is refused with a hint. */
export function sourceTopic(topic: string, topicAllowed: TopicPolicy): string {
  if (topic.endsWith(".dlq")) {
    throw new RequestError(
      "invalid_argument",
      `topic "${topic}" is a dead-letter topic: name its source topic "${topic.slice(0, -".dlq".length)}"`,
    );
  }
  return topicAllowed(topic);
}

/** page_size as the contract says: 0 means 50, above 1000 is capped. */
export function pageSize(requested: number): number {
  if (requested < 0) {
    throw new RequestError(
      "invalid_argument",
      `page_size must be 0 (meaning ${DEFAULT_PAGE_SIZE}) or more, not ${requested}`,
    );
  }
  return requested === 0 ? DEFAULT_PAGE_SIZE : Math.min(requested, MAX_PAGE_SIZE);
}

/** The error-code filter, deduplicated; empty means every code. */
export function errorFilter(errors: readonly string[]): string[] {
  for (const code of errors) {
    if (!errorCode.test(code)) {
      throw new RequestError(
        "invalid_argument",
        `errors: "${code.slice(0, 80)}" is not an error code; use codes as listed, e.g. invalid_json, missing_field, invalid_amount, unknown_currency`,
      );
    }
  }
  return [...new Set(errors)];
}

export function redriveChoice(request: RedriveDeadLettersRequest): RedriveChoice {
  const selection = request.selection;
  switch (selection.case) {
    case undefined:
      throw new RequestError(
        "invalid_argument",
        "say what to redrive: all, refs (partition and offset of each dead letter) or range (partition, from_offset, to_offset)",
      );
    case "all":
      if (!selection.value) {
        throw new RequestError(
          "invalid_argument",
          "all must be true to redrive every dead letter; or choose refs or range",
        );
      }
      return { kind: "all" };
    case "refs": {
      const refs = selection.value.refs;
      if (refs.length === 0) {
        throw new RequestError(
          "invalid_argument",
          "refs is empty: name at least one dead letter by original_partition and original_offset",
        );
      }
      if (refs.length > MAX_REFS) {
        throw new RequestError(
          "invalid_argument",
          `refs names ${refs.length} dead letters; at most ${MAX_REFS} per call (use range or all for more)`,
        );
      }
      return {
        kind: "refs",
        refs: refs.map((ref, i) => {
          const where = `refs[${i}]`;
          return {
            partition: partitionOf(ref.originalPartition, `${where}.original_partition`),
            offset: offsetOf(ref.originalOffset, `${where}.original_offset`),
          };
        }),
      };
    }
    case "range": {
      const range = selection.value;
      const fromOffset = offsetOf(range.fromOffset, "range.from_offset");
      const toOffset = offsetOf(range.toOffset, "range.to_offset");
      if (fromOffset > toOffset) {
        throw new RequestError(
          "invalid_argument",
          `range.from_offset (${fromOffset}) is after range.to_offset (${toOffset}); the range includes both ends`,
        );
      }
      return {
        kind: "range",
        partition: partitionOf(range.partition, "range.partition"),
        fromOffset,
        toOffset,
      };
    }
  }
}

function partitionOf(partition: number, field: string): number {
  if (partition < 0)
    throw new RequestError("invalid_argument", `${field} must be 0 or more, not ${partition}`);
  return partition;
}

function offsetOf(offset: bigint, field: string): number {
  if (offset < 0n || offset > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RequestError("invalid_argument", `${field} must be an offset of 0 or more, not ${offset}`);
  }
  return Number(offset);
}
