// The one place where pa's typed errors become Connect/gRPC codes. Handlers throw domain errors;
// this interceptor maps them for unary calls and for errors raised mid-stream.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { SourceTopicNotFoundError } from "../admin/admin-requests.js";
import { DeadLetterReadError } from "../admin/dead-letter-reader.js";
import { InvalidPageTokenError } from "../admin/page-token.js";
import { RedriveUnavailableError } from "../admin/redrive.js";
import { AuthenticationError, CredentialExpiredError, PermissionError } from "../auth/identity.js";
import { KeySetUnavailableError } from "../auth/jwt-verifier.js";
import { FilterExpressionError } from "../filtering/payment-filter.js";
import { PartitionOffsetsUnknownError, TopicNotFoundError } from "../kafka/topic-admin.js";
import { RateLimitedError } from "../limits/request-rate.js";
import { StreamLimitError } from "../limits/stream-slots.js";
import type { Logger } from "../observability/logger.js";
import { InvalidCursorError } from "../store/payment-store.js";
import { InvalidStreamCursorError, StreamCursorOutOfRangeError } from "../streaming/stream-cursor.js";
import { StreamInterruptedError } from "../streaming/stream-hub.js";
import { RequestError } from "./request-validation.js";

export class PaymentNotFoundError extends Error {
  override readonly name = "PaymentNotFoundError";
  constructor(readonly paymentId: string) {
    super(`payment "${paymentId}" was not found`);
  }
}

/** The trailer that carries a resumable cursor on an interrupted stream. */
export const RESUME_CURSOR_TRAILER = "pa-resume-cursor";

/** The trailer that says how many payments a stream's filter expression failed on (and left out). */
export const FILTER_ERRORS_TRAILER = "pa-filter-errors";

/** Seconds to wait before calling again, on RESOURCE_EXHAUSTED (as HTTP's Retry-After). */
export const RETRY_AFTER_HEADER = "retry-after";

export function toConnectError(error: unknown, logger?: Logger): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof CredentialExpiredError) {
    const trailer = new Headers();
    if (error.cursor) trailer.set(RESUME_CURSOR_TRAILER, error.cursor);
    const hint = error.cursor
      ? ` (resume with a fresh credential and start_cursor from the ${RESUME_CURSOR_TRAILER} trailer)`
      : "";
    return new ConnectError(`${error.message}${hint}`, Code.Unauthenticated, trailer);
  }
  if (error instanceof AuthenticationError) return new ConnectError(error.message, Code.Unauthenticated);
  if (error instanceof PermissionError) return new ConnectError(error.message, Code.PermissionDenied);
  if (error instanceof KeySetUnavailableError) return new ConnectError(error.message, Code.Unavailable);
  if (error instanceof RequestError) {
    return new ConnectError(
      error.message,
      error.kind === "permission_denied" ? Code.PermissionDenied : Code.InvalidArgument,
    );
  }
  if (error instanceof AuthenticationError) return new ConnectError(error.message, Code.Unauthenticated);
  if (error instanceof PermissionError) return new ConnectError(error.message, Code.PermissionDenied);
  if (error instanceof FilterExpressionError) return new ConnectError(error.message, Code.InvalidArgument);
  if (error instanceof TopicNotFoundError) {
    return new ConnectError(`${error.message}; pa never creates topics for a subscription`, Code.NotFound);
  }
  if (error instanceof PartitionOffsetsUnknownError) return new ConnectError(error.message, Code.Unavailable);
  if (error instanceof PaymentNotFoundError) return new ConnectError(error.message, Code.NotFound);
  if (error instanceof SourceTopicNotFoundError) return new ConnectError(error.message, Code.NotFound);
  if (error instanceof InvalidPageTokenError) return new ConnectError(error.message, Code.InvalidArgument);
  if (error instanceof DeadLetterReadError || error instanceof RedriveUnavailableError) {
    return new ConnectError(error.message, Code.Unavailable);
  }
  if (error instanceof InvalidCursorError || error instanceof InvalidStreamCursorError) {
    return new ConnectError(error.message, Code.InvalidArgument);
  }
  if (error instanceof StreamCursorOutOfRangeError) return new ConnectError(error.message, Code.OutOfRange);
  if (error instanceof StreamLimitError || error instanceof RateLimitedError) {
    const retry = new Headers({ [RETRY_AFTER_HEADER]: String(error.retryAfterSeconds) });
    return new ConnectError(error.message, Code.ResourceExhausted, retry);
  }
  if (error instanceof StreamInterruptedError) {
    const trailer = new Headers();
    if (error.cursor) trailer.set(RESUME_CURSOR_TRAILER, error.cursor);
    const hint = error.cursor ? ` (resume with start_cursor from the ${RESUME_CURSOR_TRAILER} trailer)` : "";
    return new ConnectError(`${error.message}${hint}`, Code.Unavailable, trailer);
  }
  logger?.error({ err: error }, "unexpected error in an RPC");
  return new ConnectError("internal error; see pa's log", Code.Internal);
}

export function errorMappingInterceptor(logger: Logger): Interceptor {
  return (next) => async (request) => {
    try {
      const response = await next(request);
      if (!response.stream) return response;
      return { ...response, message: mapStreamErrors(response.message, logger) };
    } catch (error) {
      throw toConnectError(error, logger);
    }
  };
}

async function* mapStreamErrors<T>(messages: AsyncIterable<T>, logger: Logger): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw toConnectError(error, logger);
  }
}
