// Structured, leveled logs: JSON lines in production, readable lines in a terminal. Messages keep
// the PoC's prefixes ([MANAGER], [CONSUMER:topic], [DLQ:topic]) so its operators recognise them.
//
// Logs never carry secrets or customers' e-mails: fields with such names are censored wherever
// they ride (redact paths), and e-mail addresses and bearer credentials inside messages and error
// texts (a DLQ reason quoting a record, a driver's error) are masked before a line is written.
import pino, { type Logger } from "pino";
import pretty from "pino-pretty";
import { maskEmailsIn } from "../auth/pii-mask.js";
import type { Config } from "../config/config.js";

export type { Logger };

const CENSOR = "***";

/** Field names whose value is a secret or personal data, at the top level and one level down. */
const SENSITIVE_FIELDS = [
  "password",
  "authorization",
  "token",
  "apiKey",
  "secret",
  "customerEmail",
  "customer_email",
  "email",
];
const REDACT_PATHS = [
  ...SENSITIVE_FIELDS.flatMap((field) => [field, `*.${field}`]),
  "*.sasl.password",
  "*.headers.authorization",
  "*.payment.customerEmail",
];

const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/\s@]*:)[^@\s/]+@/gi;

/** A text with e-mail addresses, bearer credentials and URL passwords masked. */
export function scrubText(text: string): string {
  return maskEmailsIn(text.replace(URL_PASSWORD, `$1${CENSOR}@`).replace(BEARER, `$1 ${CENSOR}`));
}

function scrubError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  if (typeof serialized !== "object" || serialized === null) return serialized;
  for (const field of ["message", "stack"]) {
    const value = serialized[field];
    if (typeof value === "string") serialized[field] = scrubText(value);
  }
  return serialized;
}

export function createLogger(config: Config["log"], destination?: NodeJS.WritableStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.level,
    base: { service: "pa" },
    // Secrets never reach a log line, whichever object they ride in on.
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    serializers: { err: scrubError },
    hooks: {
      logMethod(args, method) {
        method.apply(
          this,
          args.map((arg) => (typeof arg === "string" ? scrubText(arg) : arg)) as Parameters<typeof method>,
        );
      },
    },
  };
  if (config.format === "pretty") {
    // A synchronous stream, not a transport: no worker thread, and lines are not lost on exit.
    const stream = pretty({
      colorize: process.stdout.isTTY === true && !process.env.NO_COLOR,
      translateTime: "HH:MM:ss.l",
      ignore: "pid,hostname,service",
      sync: true,
      ...(destination ? { destination } : {}),
    });
    return pino(options, stream);
  }
  // Synchronous too: pino's default stdout stream writes later, on libuv's threadpool, and a line
  // written just before pa exits or kills itself (main.ts) was lost.
  return pino(
    options,
    (destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: true }),
  );
}
