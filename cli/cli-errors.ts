// What pa-cli tells a person when something fails, and its exit code: 2 for a usage mistake
// (bad option, bad argument, a request pa refused as invalid), 3 when pa did not answer in time
// (DEADLINE_EXCEEDED: the same command may succeed later, so a script can tell it from "not
// found"), 1 for anything else.
import { Code, ConnectError } from "@connectrpc/connect";

/** The command line asks for something impossible; exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** A failure already put in plain words; exit 1. */
export class CliError extends Error {
  override readonly name = "CliError";
}

/** pa ran out of time, e.g. its store had not reached a --consistent-with cursor; exit 3. */
export class TimedOutError extends Error {
  override readonly name = "TimedOutError";
}

export interface Explained {
  message: string;
  exitCode: 1 | 2 | 3;
}

const TLS_ERRORS = /certificate|CERT_|SSL|wrong version number|EPROTO/i;
const NETWORK_ERRORS = /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ETIMEDOUT|socket hang up/;

/** Whether a failed call is worth repeating later: pa went away or the network failed. */
export function isTransient(error: unknown): boolean {
  const connectError = ConnectError.from(error);
  return (
    connectError.code === Code.Unavailable ||
    (connectError.code === Code.Unknown && NETWORK_ERRORS.test(connectError.message)) ||
    connectError.code === Code.Aborted
  );
}

export function explainError(error: unknown, server: string): Explained {
  if (error instanceof UsageError) return { message: error.message, exitCode: 2 };
  if (error instanceof CliError) return { message: error.message, exitCode: 1 };
  if (error instanceof TimedOutError) return { message: error.message, exitCode: 3 };
  if (!(error instanceof ConnectError) && !isConnectLike(error)) {
    return { message: (error as Error)?.message ?? String(error), exitCode: 1 };
  }
  const e = ConnectError.from(error);
  if (TLS_ERRORS.test(e.rawMessage)) {
    return {
      message: `TLS with ${server} failed (${e.rawMessage}): for a private CA pass --ca <pem file>; without TLS drop --tls`,
      exitCode: 1,
    };
  }
  switch (e.code) {
    case Code.Unavailable:
    case Code.Unknown:
      // pa itself answers UNAVAILABLE too (the store's breaker open, shutting down): say its reason.
      if (e.code === Code.Unavailable && e.metadata.has("grpc-status")) {
        return { message: `pa is unavailable: ${e.rawMessage}; try again shortly`, exitCode: 1 };
      }
      if (e.code === Code.Unavailable || NETWORK_ERRORS.test(e.rawMessage)) {
        return {
          message:
            `server not reachable at ${server} (${e.rawMessage}): start pa with \`npm run dev\`, ` +
            "or pass --server host:port (or set PA_SERVER)",
          exitCode: 1,
        };
      }
      break;
    case Code.InvalidArgument:
      return { message: `pa refused the request: ${e.rawMessage}`, exitCode: 2 };
    case Code.NotFound:
      return { message: `not found: ${e.rawMessage}`, exitCode: 1 };
    case Code.PermissionDenied:
      return {
        message: `permission denied: ${e.rawMessage} (pa's TOPIC_ALLOWLIST or your --token / PA_TOKEN decide this)`,
        exitCode: 1,
      };
    case Code.Unauthenticated:
      return { message: `not authenticated: ${e.rawMessage} (pass --token or set PA_TOKEN)`, exitCode: 1 };
    case Code.Unimplemented:
      return {
        message: `the pa at ${server} does not offer this (${e.rawMessage}); it may be an older version`,
        exitCode: 1,
      };
    case Code.ResourceExhausted:
      return { message: `pa is at its limit: ${e.rawMessage}; try again later`, exitCode: 1 };
    case Code.OutOfRange:
      return {
        message: `pa cannot resume from that cursor: ${e.rawMessage} (pa-cli: --allow-gap, or --from earliest / latest)`,
        exitCode: 1,
      };
    case Code.DeadlineExceeded:
      return { message: `pa did not answer in time (${e.rawMessage})`, exitCode: 3 };
    default:
      break;
  }
  return { message: `${Code[e.code] ?? e.code}: ${e.rawMessage}`, exitCode: 1 };
}

function isConnectLike(error: unknown): boolean {
  return error instanceof Error && (error.name === "ConnectError" || NETWORK_ERRORS.test(error.message));
}
