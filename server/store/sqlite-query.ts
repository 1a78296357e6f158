// How the SQLite store turns ListPayments' filters into SQL, and which index each query uses. The
// planner alone gets two cases wrong at a million rows, so they are decided here:
//  - total_count over topic/provider/status/currency only is summed from payment_counts instead of
//    counted over an index range that can hold every payment;
//  - with a created_at or amount_minor range, the planner may walk every payment newest first
//    hoping to meet 51 matches soon, which takes the whole table when the range is old. Counting
//    the range over its covering index costs as much as collecting the page from it, so the page
//    comes from that index too; unless topic/provider/status/currency alone leave few payments, in
//    which case their classes are read from payments_class (classUnion in sqlite-store.ts).
import { amountBucket } from "./amount-bucket.js";
import { keyHash } from "./key-hash.js";
import type { PaymentQuery } from "./payment-store.js";

export interface Where {
  sql: string;
  params: unknown[];
}

/** Below this many payments matching the equality filters, their index beats a range index. */
const fewMatches = 5_000;

/**
 * The filters as a WHERE condition on `payments` (or, for the equality ones, `payment_counts`).
 * payments' indexes hold a topic's topic_id and an e-mail's key_hash (sqlite-migrations.ts,
 * version 4), so the condition on payments names those; payment_counts keeps the topic's name.
 */
export function whereOf(query: PaymentQuery, only: "all" | "equality" = "all"): Where {
  const terms: string[] = [];
  const params: unknown[] = [];
  const add = (term: string, ...values: unknown[]) => {
    terms.push(term);
    params.push(...values);
  };
  const onPayments = only === "all";
  if (query.topic) add(onPayments ? `topic_id = (${topicIds} = ?)` : "topic = ?", query.topic);
  if (query.topics) {
    const topics = [...new Set(query.topics)];
    const list = `IN (${topics.map(() => "?").join(", ")})`;
    // Nothing visible: a condition no row meets (an empty IN list is not SQL).
    if (topics.length === 0) add("0");
    else add(onPayments ? `topic_id IN (${topicIds} ${list})` : `topic ${list}`, ...topics);
  }
  const providers = [...new Set(query.providers ?? [])];
  if (providers.length) add(`provider IN (${providers.map(() => "?").join(", ")})`, ...providers);
  const statuses = [...new Set(query.statuses ?? [])];
  if (statuses.length) add(`status IN (${statuses.map(() => "?").join(", ")})`, ...statuses);
  if (query.currency) add("currency = ?", query.currency);
  if (only === "all") {
    if (query.customerEmail) {
      const emailLc = query.customerEmail.toLowerCase();
      add("email_key = ? AND email_lc = ?", keyHash(emailLc), emailLc);
    }
    if (query.tenant) add("json_extract(metadata, ?) = ?", jsonPath(query.tenant.key), query.tenant.value);
    if (query.createdFrom !== undefined) add("created_at >= ?", query.createdFrom);
    if (query.createdTo !== undefined) add("created_at < ?", query.createdTo);
    // The buckets the range spans (amount-bucket.ts) bound the amount index's range; amount_minor
    // then filters the entries of those buckets.
    if (query.minAmountMinor !== undefined) {
      add(
        "amount_bucket >= ? AND amount_minor >= ?",
        amountBucket(query.minAmountMinor),
        query.minAmountMinor,
      );
    }
    if (query.maxAmountMinor !== undefined) {
      add(
        "amount_bucket <= ? AND amount_minor <= ?",
        amountBucket(query.maxAmountMinor),
        query.maxAmountMinor,
      );
    }
  }
  return { sql: terms.join(" AND "), params };
}

/** The start of a subquery for the topic_id of topics named by what follows. */
const topicIds = "SELECT topic_id FROM topics WHERE topic";

/** The condition on payments that one class (a row of payment_counts' key) names. */
export const classCondition = `topic_id = (${topicIds} = ?) AND provider = ? AND status = ? AND currency = ?`;

/** The JSON path of one top-level key, quoted so that any key is taken literally. */
function jsonPath(key: string): string {
  return `$.${JSON.stringify(key)}`;
}

export function whereClause(...conditions: string[]): string {
  const present = conditions.filter(Boolean);
  return present.length ? `WHERE ${present.join(" AND ")}` : "";
}

/** The covering index of the query's range filter, if it has one. */
function rangeIndex(query: PaymentQuery): string | undefined {
  if (query.createdFrom !== undefined || query.createdTo !== undefined) return "payments_created_at";
  if (query.minAmountMinor !== undefined || query.maxAmountMinor !== undefined) {
    return "payments_amount_bucket";
  }
  return undefined;
}

export type ListPlan =
  /** total_count is a sum over payment_counts. */
  | { kind: "counts" }
  /** Count and page both read `index` (or the planner's choice when absent). */
  | { kind: "scan"; index?: string };

/**
 * How to run `query`. `equalityCount` gives how many payments match its topic, provider, status
 * and currency filters (from payment_counts); it is called only when the choice depends on it.
 */
export function planList(query: PaymentQuery, equalityCount: () => number): ListPlan {
  if (query.customerEmail) return { kind: "scan" };
  const index = rangeIndex(query);
  // payment_counts knows nothing of tenants: a tenant's payments are counted row by row.
  if (!index) return query.tenant ? { kind: "scan" } : { kind: "counts" };
  return equalityCount() <= fewMatches ? { kind: "scan" } : { kind: "scan", index };
}

export function indexedBy(index: string | undefined): string {
  return index ? ` INDEXED BY ${index}` : "";
}
