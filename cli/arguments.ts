// Parsers for pa-cli's option values. Each throws commander's InvalidArgumentError with what is
// allowed, so a bad value ends as a usage error (exit 2) naming the option.
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "commander";
import ms from "ms";
import { PaymentStatus, Provider, type StreamRequest, StreamStart } from "../gen/payment/payment_pb.js";
import { currencyExponent } from "../server/payment/currencies.js";
import { decimalToUnits } from "../server/payment/money.js";

const PROVIDERS: Readonly<Record<string, Provider>> = {
  stripe: Provider.STRIPE,
  razorpay: Provider.RAZORPAY,
  paypal: Provider.PAYPAL,
};

const STATUSES: Readonly<Record<string, PaymentStatus>> = {
  pending: PaymentStatus.STATUS_PENDING,
  completed: PaymentStatus.STATUS_COMPLETED,
  failed: PaymentStatus.STATUS_FAILED,
  refunded: PaymentStatus.STATUS_REFUNDED,
};

export function parseProvider(value: string): Provider {
  const provider = PROVIDERS[value.trim().toLowerCase()];
  if (provider === undefined) {
    throw new InvalidArgumentError(`Use one of: ${Object.keys(PROVIDERS).join(", ")}.`);
  }
  return provider;
}

export function parseStatus(value: string): PaymentStatus {
  const status = STATUSES[value.trim().toLowerCase()];
  if (status === undefined)
    throw new InvalidArgumentError(`Use one of: ${Object.keys(STATUSES).join(", ")}.`);
  return status;
}

/** A comma-separated list, added to what earlier occurrences of the option gave. */
export function listOf<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [
    ...(previous ?? []),
    ...value
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean)
      .map(parse),
  ];
}

export function parseCount(value: string): number {
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError("Use a whole number, 0 or more.");
  }
  return Number(value);
}

export function parsePositiveCount(value: string): number {
  const count = parseCount(value);
  if (count === 0) throw new InvalidArgumentError("Use a whole number above 0.");
  return count;
}

/** A duration as `ms` reads it ("500ms", "2s", "1m") or plain milliseconds. */
export function parseDuration(value: string): number {
  const text = value.trim();
  const parsed = /^\d+$/.test(text) ? Number(text) : ms(text as ms.StringValue);
  if (typeof parsed !== "number" || !Number.isFinite(parsed) || parsed < 0) {
    throw new InvalidArgumentError('Use a duration such as "500ms", "2s" or "1m", or milliseconds.');
  }
  return parsed;
}

/** `--timeout`: a duration above 0 (a deadline of 0 would fail every call). */
export function parseTimeout(value: string): number {
  const duration = parseDuration(value);
  if (duration === 0) throw new InvalidArgumentError('Use a duration above 0, such as "5s" or "30s".');
  return duration;
}

export function parseRate(value: string): number {
  const rate = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(rate > 0)) {
    throw new InvalidArgumentError("Use records per second, a number above 0 (e.g. 50 or 0.5).");
  }
  return rate;
}

/** An ISO 8601 time with at least a date ("2026-11-23", "2026-11-23T10:00:00Z"), in epoch ms. */
export function parseTime(value: string): number {
  const text = value.trim();
  const time = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(time)) {
    throw new InvalidArgumentError('Use an ISO 8601 time such as "2026-11-23T10:00:00Z" or "2026-11-23".');
  }
  return time;
}

export type StartPosition = NonNullable<StreamRequest["startPosition"]>;

/** `--from`: latest, earliest, an ISO time, or a cursor from an event or an earlier summary. */
export function parseStartPosition(value: string): StartPosition {
  const text = value.trim();
  const lower = text.toLowerCase();
  if (lower === "latest" || lower === "earliest") {
    return { case: "start", value: lower === "latest" ? StreamStart.LATEST : StreamStart.EARLIEST };
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) return { case: "startTime", value: timestampFromMs(parseTime(text)) };
  if (!CURSOR.test(text)) {
    throw new InvalidArgumentError(
      'Use "latest", "earliest", an ISO time such as "2026-11-23T10:00:00Z", or a cursor printed by pa-cli.',
    );
  }
  return { case: "startCursor", value: text };
}

// pa's cursors are base64url; anything else is a paste gone wrong, told apart before any call.
const CURSOR = /^[A-Za-z0-9_=-]+$/;

/** `--consistent-with`: an event's cursor (stream --show-cursor or --json) or a list's as_of. */
export function parseCursor(value: string): string {
  const text = value.trim();
  if (!CURSOR.test(text)) {
    throw new InvalidArgumentError(
      "Use a cursor printed by pa-cli: stream --show-cursor (or .cursor in --json), or list's as_of.",
    );
  }
  return text;
}

/** An amount in major units of `currency` ("10.50" USD) as exact minor units (1050). */
export function amountToMinor(amount: string, currency: string, option: string): bigint {
  const exponent = currencyExponent(currency.trim().toUpperCase());
  if (exponent === undefined) {
    throw new InvalidArgumentError(`${option} needs --currency with an ISO 4217 code (got "${currency}").`);
  }
  const minor = decimalToUnits(amount.trim(), exponent);
  if (typeof minor !== "bigint") {
    throw new InvalidArgumentError(
      `${option} "${amount}" is not an amount of ${currency.toUpperCase()} (a positive decimal with at most ${exponent} places).`,
    );
  }
  return minor;
}

/** `--offsets 0:12,1:40`: dead letters named by source partition and offset. */
export function parseOffsets(
  value: string,
  previous: { partition: number; offset: bigint }[] | undefined,
): { partition: number; offset: bigint }[] {
  const refs = value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      const match = /^(\d+):(\d+)$/.exec(item);
      if (!match) throw new InvalidArgumentError(`"${item}" is not partition:offset (e.g. 0:12,1:40).`);
      return { partition: Number(match[1]), offset: BigInt(match[2]) };
    });
  return [...(previous ?? []), ...refs];
}

/** `--range 0:10-20`: source offsets 10 to 20 of partition 0. */
export function parseOffsetRange(value: string): { partition: number; fromOffset: bigint; toOffset: bigint } {
  const match = /^(\d+):(\d+)-(\d+)$/.exec(value.trim());
  if (!match || BigInt(match[2]) > BigInt(match[3])) {
    throw new InvalidArgumentError('Use partition:from-to with from <= to (e.g. "0:10-20").');
  }
  return { partition: Number(match[1]), fromOffset: BigInt(match[2]), toOffset: BigInt(match[3]) };
}
