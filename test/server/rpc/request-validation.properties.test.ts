// Properties of request checking and cursor decoding over arbitrary requests: nothing but pa's
// typed errors escapes, and toConnectError never turns any of them into INTERNAL.
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ListPaymentsRequestSchema, StreamRequestSchema } from "../../../gen/payment/payment_pb.js";
import { decodePageToken, InvalidPageTokenError } from "../../../server/admin/page-token.js";
import { toConnectError } from "../../../server/rpc/error-mapping.js";
import { listQuery } from "../../../server/rpc/list-query.js";
import {
  existingLimit,
  RequestError,
  startPosition,
  topicPolicy,
} from "../../../server/rpc/request-validation.js";
import { decodePageCursor } from "../../../server/store/page-cursor.js";
import { InvalidCursorError } from "../../../server/store/payment-store.js";
import { decodeStreamCursor, InvalidStreamCursorError } from "../../../server/streaming/stream-cursor.js";

const RUNS = { numRuns: 3000 };

/** Runs `check`; anything it throws must be one of `types`, and must not map to INTERNAL. */
function onlyTyped(check: () => unknown, ...types: (new (...args: never[]) => Error)[]): void {
  try {
    check();
  } catch (error) {
    if (!types.some((type) => error instanceof type)) throw error;
    expect(toConnectError(error).code).not.toBe(Code.Internal);
  }
}

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const timestamp = fc.record({ seconds: int64, nanos: int32 });
const text = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.constantFrom("", " ", "usd", "a.b"));

// What a cursor field may hold: anything, base64url of any JSON, or of JSON shaped like a cursor.
const jsonCursor = fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? "").toString("base64url"));
const cursorLike = fc
  .record(
    {
      v: fc.oneof(fc.constant(1), fc.jsonValue()),
      t: fc.oneof(fc.constant("payments"), fc.jsonValue()),
      p: fc.oneof(fc.array(fc.oneof(fc.nat(), fc.double(), fc.jsonValue())), fc.jsonValue()),
      topic: fc.oneof(fc.constant("payments"), fc.jsonValue()),
      errors: fc.oneof(fc.array(fc.oneof(fc.string(), fc.jsonValue())), fc.jsonValue()),
      after: fc.oneof(fc.record({ partition: fc.jsonValue(), offset: fc.jsonValue() }), fc.jsonValue()),
    },
    { requiredKeys: [] },
  )
  .map((body) => Buffer.from(JSON.stringify(body)).toString("base64url"));
const cursor = fc.oneof(text, jsonCursor, cursorLike, fc.constantFrom("bnVsbA", "W10", "MQ", "InMi"));

const listRequest = fc.record({
  provider: int32,
  status: int32,
  limit: int32,
  cursor,
  topic: text,
  providers: fc.array(int32, { maxLength: 5 }),
  statuses: fc.array(int32, { maxLength: 5 }),
  currency: text,
  customerEmail: text,
  createdFrom: fc.option(timestamp, { nil: undefined }),
  createdTo: fc.option(timestamp, { nil: undefined }),
  minAmountMinor: fc.option(int64, { nil: undefined }),
  maxAmountMinor: fc.option(int64, { nil: undefined }),
});

const startOf = fc.oneof(
  fc.constant({ case: undefined }),
  int32.map((value) => ({ case: "start" as const, value })),
  timestamp.map((value) => ({ case: "startTime" as const, value })),
  cursor.map((value) => ({ case: "startCursor" as const, value })),
);
const streamRequest = fc.record({
  topic: text,
  provider: int32,
  status: int32,
  existingLimit: fc.option(int32, { nil: undefined }),
  startPosition: startOf,
});

describe("request validation on arbitrary requests", () => {
  it("ListPayments: listQuery throws nothing but RequestError", () => {
    fc.assert(
      fc.property(listRequest, (fields) => {
        const { createdFrom, createdTo, ...rest } = fields;
        const request = create(ListPaymentsRequestSchema, {
          ...rest,
          ...(createdFrom ? { createdFrom } : {}),
          ...(createdTo ? { createdTo } : {}),
        });
        onlyTyped(() => listQuery(request), RequestError);
        if (request.cursor) onlyTyped(() => decodePageCursor(request.cursor), InvalidCursorError);
      }),
      RUNS,
    );
  });

  it("StreamPayments: topic, start and existing_limit checks throw nothing but their typed errors", () => {
    const policies = [topicPolicy(["*"]), topicPolicy(["payments.*", "orders"])];
    fc.assert(
      fc.property(streamRequest, (fields) => {
        const request = create(StreamRequestSchema, fields as never);
        for (const policy of policies) onlyTyped(() => policy(request.topic), RequestError);
        // The start position decodes a start_cursor on the spot, before any consumption starts.
        onlyTyped(() => startPosition(request), RequestError, InvalidStreamCursorError);
        onlyTyped(() => existingLimit(request, 100, 1000), RequestError);
      }),
      RUNS,
    );
  });
});

describe("cursor decoding on arbitrary strings", () => {
  it("stream cursors: nothing but InvalidStreamCursorError", () => {
    fc.assert(
      fc.property(cursor, text, (value, topic) => {
        onlyTyped(() => decodeStreamCursor(value, topic), InvalidStreamCursorError);
        onlyTyped(() => decodeStreamCursor(value, "payments"), InvalidStreamCursorError);
      }),
      RUNS,
    );
  });

  it("the cursor of base64 `null` is refused as a cursor, not a crash", () => {
    expect(() => decodeStreamCursor("bnVsbA", "payments")).toThrow(InvalidStreamCursorError);
  });

  it("ListPayments page cursors: nothing but InvalidCursorError", () => {
    fc.assert(
      fc.property(cursor, (value) => onlyTyped(() => decodePageCursor(value), InvalidCursorError)),
      RUNS,
    );
  });

  it("a page token whose errors are not strings is refused as a token, not a crash", () => {
    // {"toString": 1} has no way to become a string: joining it threw a TypeError.
    const body = { v: 1, topic: "payments", errors: [{ toString: 1 }], after: { partition: 0, offset: 0 } };
    const token = Buffer.from(JSON.stringify(body)).toString("base64url");
    expect(() => decodePageToken(token, "payments", [])).toThrow(InvalidPageTokenError);
  });

  it("dead-letter page tokens: nothing but InvalidPageTokenError", () => {
    fc.assert(
      fc.property(cursor, fc.array(fc.string(), { maxLength: 3 }), (value, errors) => {
        onlyTyped(() => decodePageToken(value, "payments", errors), InvalidPageTokenError);
      }),
      RUNS,
    );
  });
});
