import { describe, expect, it } from "vitest";
import { PaymentStatus, Provider } from "../../../gen/payment/payment_pb.js";
import { amountBucket } from "../../../server/store/amount-bucket.js";
import { keyHash } from "../../../server/store/key-hash.js";
import { planList, whereOf } from "../../../server/store/sqlite-query.js";

describe("whereOf", () => {
  it("binds every filter, de-duplicating the any-of lists and lower-casing the email", () => {
    const where = whereOf({
      topic: "payments",
      providers: [Provider.STRIPE, Provider.STRIPE, Provider.PAYPAL],
      statuses: [PaymentStatus.STATUS_COMPLETED],
      currency: "EUR",
      customerEmail: "Ann@Example.com",
      createdFrom: 10n,
      createdTo: 20n,
      minAmountMinor: 1n,
      maxAmountMinor: 2n,
    });
    expect(where.sql).toBe(
      "topic_id = (SELECT topic_id FROM topics WHERE topic = ?) AND provider IN (?, ?) AND status IN (?) AND " +
        "currency = ? AND email_key = ? AND email_lc = ? AND created_at >= ? AND created_at < ? AND " +
        "amount_bucket >= ? AND amount_minor >= ? AND amount_bucket <= ? AND amount_minor <= ?",
    );
    expect(where.params).toEqual([
      "payments",
      1,
      3,
      2,
      "EUR",
      keyHash("ann@example.com"),
      "ann@example.com",
      10n,
      20n,
      amountBucket(1n),
      1n,
      amountBucket(2n),
      2n,
    ]);
  });

  it("treats empty lists and strings as no filter, and can keep only the equality filters", () => {
    expect(whereOf({ providers: [], statuses: [], topic: "", currency: "", customerEmail: "" }).sql).toBe("");
    expect(whereOf({ topic: "t", customerEmail: "a@b.c", createdFrom: 1n }, "equality").sql).toBe(
      "topic = ?",
    );
  });
});

describe("planList", () => {
  const many = () => 1_000_000;
  it("sums payment_counts when only topic/provider/status/currency filter", () => {
    expect(planList({}, many)).toEqual({ kind: "counts" });
    expect(planList({ topic: "t", statuses: [PaymentStatus.STATUS_FAILED] }, many)).toEqual({
      kind: "counts",
    });
  });

  it("reads a range through its covering index unless the equality filters leave few payments", () => {
    expect(planList({ createdFrom: 1n }, many)).toEqual({ kind: "scan", index: "payments_created_at" });
    expect(planList({ maxAmountMinor: 1n }, many)).toEqual({ kind: "scan", index: "payments_amount_bucket" });
    expect(planList({ createdTo: 1n, minAmountMinor: 1n }, many)).toEqual({
      kind: "scan",
      index: "payments_created_at",
    });
    expect(planList({ topic: "rare", createdFrom: 1n }, () => 10)).toEqual({ kind: "scan" });
  });

  it("leaves an email lookup to the planner", () => {
    expect(planList({ customerEmail: "a@b.c", createdFrom: 1n }, many)).toEqual({ kind: "scan" });
  });
});
