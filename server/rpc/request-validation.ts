// Checks what clients ask for before any work is done, each failure with a message that says what
// to fix. Errors are RequestError values; rpc/error-mapping.ts gives them their Connect code.
import picomatch from "picomatch";
import { type StreamRequest, StreamStart } from "../../gen/payment/payment_pb.js";
import { decodeStreamCursor } from "../streaming/stream-cursor.js";
import type { StartPosition } from "../streaming/stream-hub.js";

export class RequestError extends Error {
  override readonly name = "RequestError";
  constructor(
    readonly kind: "invalid_argument" | "permission_denied",
    message: string,
  ) {
    super(message);
  }
}

const legalTopic = /^[a-zA-Z0-9._-]+$/;

/** Topics no client may stream: Kafka's internal ones, and dead letters (not payments). */
const alwaysDenied = picomatch(["__*", "*.dlq"], { dot: true });

export type TopicPolicy = (topic: string) => string;

/** Builds the topic check for TOPIC_ALLOWLIST (glob patterns). Returns the topic when allowed. */
export function topicPolicy(allowlist: readonly string[]): TopicPolicy {
  const allowed = picomatch([...allowlist], { dot: true });
  return (topic) => {
    if (!topic)
      throw new RequestError("invalid_argument", "topic is required: name the Kafka topic to stream");
    if (topic.length > 249 || !legalTopic.test(topic) || topic === "." || topic === "..") {
      throw new RequestError(
        "invalid_argument",
        `topic "${topic.slice(0, 260)}" is not a legal Kafka topic name: use at most 249 of letters, digits, ".", "_" and "-"`,
      );
    }
    if (alwaysDenied(topic)) {
      throw new RequestError(
        "permission_denied",
        `topic "${topic}" cannot be streamed: Kafka's internal (__*) and dead-letter (*.dlq) topics are not payment streams`,
      );
    }
    if (!allowed(topic)) {
      throw new RequestError(
        "permission_denied",
        `topic "${topic}" is not allowed by this pa (TOPIC_ALLOWLIST=${allowlist.join(",")})`,
      );
    }
    return topic;
  };
}

/**
 * Where the stream starts, as asked. A start_cursor is decoded against the request's topic here, so
 * a malformed or foreign one is refused before anything is consumed; the hub checks it against
 * what Kafka holds.
 */
export function startPosition(request: StreamRequest): StartPosition {
  const start = request.startPosition;
  switch (start.case) {
    case undefined:
      return { kind: "latest" };
    case "start":
      if (start.value === StreamStart.EARLIEST) return { kind: "earliest" };
      if (start.value === StreamStart.LATEST || start.value === StreamStart.UNSPECIFIED) {
        return { kind: "latest" };
      }
      throw new RequestError("invalid_argument", `start ${start.value} is not a StreamStart value`);
    case "startTime": {
      const ms = Number(start.value.seconds) * 1000 + Math.floor(start.value.nanos / 1e6);
      if (!Number.isFinite(ms) || ms < 0) {
        throw new RequestError("invalid_argument", "start_time must be a time after 1970-01-01T00:00:00Z");
      }
      return { kind: "time", timestampMs: ms };
    }
    case "startCursor":
      if (!start.value)
        throw new RequestError("invalid_argument", "start_cursor is empty: pass an event's cursor");
      return {
        kind: "cursor",
        positions: decodeStreamCursor(start.value, request.topic),
        allowFallback: request.allowCursorFallback,
      };
  }
}

/**
 * The "existing" snapshot size: default only for live starts, capped by the server's maximum. A
 * negative one never gets here: payment.proto's buf.validate rule refuses it.
 */
export function existingLimit(request: StreamRequest, defaultLimit: number, maxLimit: number): number {
  if (request.existingLimit === undefined) return request.startPosition.case === undefined ? defaultLimit : 0;
  return Math.min(request.existingLimit, maxLimit);
}

export const LIST_DEFAULT_LIMIT = 10;
export const LIST_MAX_LIMIT = 1000;

/**
 * ListPayments' limit as the PoC defined it: 0 means 10; above the maximum is capped. A negative
 * one never gets here: payment.proto's buf.validate rule refuses it.
 */
export function listLimit(limit: number): number {
  if (limit === 0) return LIST_DEFAULT_LIMIT;
  return Math.min(limit, LIST_MAX_LIMIT);
}
