// The store scenario's queries, through pa's RPC as a client makes them (one call at a time on one
// HTTP/2 connection, each timed from call to decoded answer): GetPayment of random stored ids, and
// first pages of ListPayments (50 rows) with the filters clients use, then a follow-up page via
// next_cursor. Every answer is checked, so a fast wrong answer cannot pass for a fast one.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type ListPaymentsRequestSchema, PaymentStatus, Provider } from "../../gen/payment/payment_pb.js";
import type { PaClient } from "./client.js";
import { DeliveryError } from "./scenario.js";
import { type Distribution, distribution } from "./stats.js";

type ListRequest = MessageInitShape<typeof ListPaymentsRequestSchema>;

export const PAGE_SIZE = 50;
// Calls per kind made before timing: the first calls compile pa's statements and warm its caches.
const WARM_UP_CALLS = 10;

/** What the queries pick their filter values from: a sample of what was stored. */
export interface QuerySamples {
  topic: string;
  /** Ids of stored payments, and their customers' e-mail addresses. */
  ids: string[];
  emails: string[];
  /** The stored payments' created_at lie in [fromSec, toSec]. */
  createdFromSec: number;
  createdToSec: number;
}

export interface KindLatency {
  kind: string;
  latency: Distribution;
  /** Median total_count of the ListPayments answers (the rows the filter matches); GetPayment: 1. */
  medianMatches: number;
}

const PROVIDERS = [Provider.STRIPE, Provider.RAZORPAY, Provider.PAYPAL];
const STATUSES = [
  PaymentStatus.STATUS_PENDING,
  PaymentStatus.STATUS_COMPLETED,
  PaymentStatus.STATUS_FAILED,
  PaymentStatus.STATUS_REFUNDED,
];
const CURRENCIES = ["USD", "EUR", "GBP", "INR", "JPY"];
const CREATED_WINDOW_SEC = 60;

function oneOf<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

/** An amount range in minor units: [x, 3x) for x log-uniform from 1.00 to 1,000.00. */
function amountRange(): { minAmountMinor: bigint; maxAmountMinor: bigint } {
  const min = Math.round(Math.exp(Math.log(100) + Math.random() * Math.log(1000)));
  return { minAmountMinor: BigInt(min), maxAmountMinor: BigInt(min * 3) };
}

/** The ListPayments first pages measured, each a kind with a fresh random filter value per call. */
export function listKinds(samples: QuerySamples): { kind: string; request: () => ListRequest }[] {
  const createdRange = () => {
    const latestStart = Math.max(samples.createdFromSec, samples.createdToSec - CREATED_WINDOW_SEC);
    const from =
      samples.createdFromSec + Math.floor(Math.random() * (latestStart - samples.createdFromSec + 1));
    return {
      createdFrom: timestampFromMs(from * 1000),
      createdTo: timestampFromMs((from + CREATED_WINDOW_SEC) * 1000),
    };
  };
  return [
    { kind: "no filter", request: () => ({}) },
    { kind: "one provider", request: () => ({ provider: oneOf(PROVIDERS) }) },
    { kind: "one status", request: () => ({ status: oneOf(STATUSES) }) },
    { kind: "currency", request: () => ({ currency: oneOf(CURRENCIES) }) },
    { kind: "topic", request: () => ({ topic: samples.topic }) },
    { kind: "customer_email", request: () => ({ customerEmail: oneOf(samples.emails) }) },
    { kind: `created range (${CREATED_WINDOW_SEC} s)`, request: createdRange },
    { kind: "amount range", request: amountRange },
    { kind: "provider + status", request: () => ({ provider: oneOf(PROVIDERS), status: oneOf(STATUSES) }) },
    { kind: "currency + amount range", request: () => ({ currency: oneOf(CURRENCIES), ...amountRange() }) },
  ];
}

/** Times `calls` runs of `call` after a few untimed ones; `call` returns the matches it saw. */
async function timeCalls(calls: number, call: () => Promise<{ ms: number; matches: number }>) {
  for (let i = 0; i < WARM_UP_CALLS; i++) await call();
  const samples = new Float64Array(calls);
  const matches = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const answer = await call();
    samples[i] = answer.ms;
    matches[i] = answer.matches;
  }
  return { latency: distribution(samples), medianMatches: distribution(matches).p50 };
}

async function timed<T>(call: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await call();
  return { value, ms: performance.now() - started };
}

/** GetPayment of random sampled ids; each must come back as the payment asked for. */
export async function getPaymentLatency(
  client: PaClient,
  ids: string[],
  calls: number,
): Promise<KindLatency> {
  const result = await timeCalls(calls, async () => {
    const id = oneOf(ids);
    const { value, ms } = await timed(() => client.getPayment({ paymentId: id }));
    if (value.id !== id)
      throw new DeliveryError(`GetPayment(${id}) answered payment ${JSON.stringify(value.id)}`);
    return { ms, matches: 1 };
  });
  return { kind: "GetPayment (random stored id)", ...result };
}

/** One ListPayments kind: first pages, each checked to hold at most a page of matches. */
export async function listLatency(
  client: PaClient,
  kind: string,
  request: () => ListRequest,
  calls: number,
): Promise<KindLatency> {
  const result = await timeCalls(calls, async () => {
    const { value, ms } = await timed(() => client.listPayments({ ...request(), limit: PAGE_SIZE }));
    const expected = Math.min(PAGE_SIZE, value.totalCount);
    if (value.payments.length !== expected) {
      throw new DeliveryError(
        `ListPayments (${kind}) returned ${value.payments.length} payments of ${value.totalCount} matching, expected ${expected}`,
      );
    }
    return { ms, matches: value.totalCount };
  });
  return { kind: `ListPayments, ${kind}`, ...result };
}

/**
 * Follow-up pages: a first page (untimed) with no filter or one provider, then its next_cursor's
 * page, timed; the two pages must not share a payment.
 */
export async function nextPageLatency(client: PaClient, calls: number): Promise<KindLatency> {
  const result = await timeCalls(calls, async () => {
    const filter = Math.random() < 0.5 ? {} : { provider: oneOf(PROVIDERS) };
    // A first page somewhere in the list: up to 20 pages in, as a client paging back would be.
    let page = await client.listPayments({ ...filter, limit: PAGE_SIZE });
    for (let skip = Math.floor(Math.random() * 20); skip > 0 && page.nextCursor; skip--) {
      page = await client.listPayments({ ...filter, limit: PAGE_SIZE, cursor: page.nextCursor });
    }
    if (!page.nextCursor) throw new DeliveryError("ListPayments gave no next_cursor on a full list");
    const cursor = page.nextCursor;
    const { value, ms } = await timed(() => client.listPayments({ ...filter, limit: PAGE_SIZE, cursor }));
    const seen = new Set(page.payments.map((p) => p.id));
    const repeated = value.payments.find((p) => seen.has(p.id));
    if (repeated) throw new DeliveryError(`the page after a cursor repeated payment ${repeated.id}`);
    if (value.payments.length === 0) throw new DeliveryError("the page after a cursor was empty");
    return { ms, matches: value.totalCount };
  });
  return { kind: "ListPayments, next page via next_cursor", ...result };
}
