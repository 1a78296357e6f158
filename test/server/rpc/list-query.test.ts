import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ListPaymentsRequestSchema, PaymentStatus, Provider } from "../../../gen/payment/payment_pb.js";
import { listQuery } from "../../../server/rpc/list-query.js";
import { RequestError } from "../../../server/rpc/request-validation.js";

const request = (fields: Parameters<typeof create<typeof ListPaymentsRequestSchema>>[1]) =>
  create(ListPaymentsRequestSchema, fields);

describe("listQuery", () => {
  it("keeps the PoC's meaning: limit 0 is 10, above 1000 is capped, UNKNOWN means any", () => {
    expect(listQuery(request({}))).toEqual({ limit: 10 });
    expect(listQuery(request({ limit: 5000 })).limit).toBe(1000);
    expect(listQuery(request({ provider: Provider.UNKNOWN, status: PaymentStatus.STATUS_UNKNOWN }))).toEqual({
      limit: 10,
    });
  });

  it("combines the single and repeated provider and status filters", () => {
    const query = listQuery(
      request({
        provider: Provider.STRIPE,
        providers: [Provider.PAYPAL, Provider.STRIPE],
        statuses: [PaymentStatus.STATUS_FAILED],
      }),
    );
    expect(query.providers).toEqual([Provider.STRIPE, Provider.PAYPAL]);
    expect(query.statuses).toEqual([PaymentStatus.STATUS_FAILED]);
  });

  it("normalizes currency, email and topic, and passes ranges through", () => {
    const query = listQuery(
      request({
        currency: "usd",
        customerEmail: " A@Example.com ",
        topic: " payments ",
        createdFrom: { seconds: 100n, nanos: 0 },
        createdTo: { seconds: 200n, nanos: 0 },
        minAmountMinor: 10n,
        maxAmountMinor: 20n,
        cursor: "abc",
      }),
    );
    expect(query).toEqual({
      limit: 10,
      cursor: "abc",
      currency: "USD",
      customerEmail: "A@Example.com",
      topic: "payments",
      createdFrom: 100n,
      createdTo: 200n,
      minAmountMinor: 10n,
      maxAmountMinor: 20n,
    });
  });

  it("rejects what cannot match, saying what to fix", () => {
    const cases: [Parameters<typeof request>[0], RegExp][] = [
      [{ currency: "dollars" }, /not an ISO 4217 code/],
      [
        { createdFrom: { seconds: 5n, nanos: 0 }, createdTo: { seconds: 5n, nanos: 0 } },
        /created_from must be before/,
      ],
      [{ minAmountMinor: 5n, maxAmountMinor: 4n }, /min_amount_minor must not exceed/],
      [{ providers: [99 as Provider] }, /provider 99 is not a known value/],
    ];
    for (const [fields, message] of cases) {
      expect(() => listQuery(request(fields))).toThrow(RequestError);
      expect(() => listQuery(request(fields))).toThrow(message);
    }
  });
});
