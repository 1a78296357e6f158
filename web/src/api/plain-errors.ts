// Turns RPC failures into sentences an operator can act on, and says which ones are worth retrying.
import { Code, ConnectError } from "@connectrpc/connect";

export interface PlainError {
  message: string;
  code: Code;
  /** pa or the network may recover by itself: reconnect with backoff. */
  retryable: boolean;
}

const RETRYABLE = new Set<Code>([
  Code.Unavailable,
  Code.Unknown,
  Code.Internal,
  Code.DeadlineExceeded,
  Code.ResourceExhausted,
  Code.Aborted,
  Code.Canceled,
]);

/** What went wrong, for `what` ("streaming topic x", "loading the dead letters", ...). */
export function plainError(error: unknown, what: string): PlainError {
  const failure = ConnectError.from(error);
  const detail = failure.rawMessage;
  const sentence = (() => {
    switch (failure.code) {
      case Code.Unavailable:
      case Code.Unknown:
        return /fetch|network|load failed/i.test(detail)
          ? `pa is not reachable at ${location.origin} while ${what}: it may be restarting or down.`
          : `pa is unavailable while ${what}: ${detail}`;
      case Code.NotFound:
        return `Not found while ${what}: ${detail}. Check the name, or create the topic first.`;
      case Code.Unauthenticated:
        return `pa needs a valid token for ${what}: ${detail}`;
      case Code.PermissionDenied:
        return `pa does not allow ${what}: ${detail}`;
      case Code.InvalidArgument:
        return `pa rejected the request while ${what}: ${detail}`;
      case Code.ResourceExhausted:
        return `pa is at its limit while ${what}: ${detail}`;
      case Code.Unimplemented:
        return `This pa does not offer ${what} (the service is not available on this server).`;
      case Code.DeadlineExceeded:
        return `pa took too long while ${what}.`;
      default:
        return `Failed while ${what}: ${detail}`;
    }
  })();
  return { message: sentence, code: failure.code, retryable: RETRYABLE.has(failure.code) };
}
