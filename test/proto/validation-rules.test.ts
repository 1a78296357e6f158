// The request rules payment.proto declares (buf.validate), as every protocol checks them: each
// refusal names the field and what it must be.
import { create } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { describe, expect, it } from "vitest";
import { ListPaymentsRequestSchema, StreamRequestSchema } from "../../gen/payment/payment_pb.js";

const validator = createValidator();

describe("payment.proto's request rules", () => {
  it.each([
    [{ existingLimit: -1 }, /^existing_limit: must be greater than or equal to 0/],
    [{ filter: "x".repeat(2049) }, /^filter: must be at most 2048 characters/],
    [{ delivery: 7 }, /^delivery: value must be one of the defined enum values/],
  ])("StreamRequest %o is refused", (fields, message) => {
    const result = validator.validate(
      StreamRequestSchema,
      create(StreamRequestSchema, { topic: "t", ...fields }),
    );
    expect(result.kind).toBe("invalid");
    expect(result.error?.message).toMatch(message);
  });

  it.each([
    [{ limit: -1 }, /^limit: must be greater than or equal to 0/],
    [{ filter: "x".repeat(2049) }, /^filter: must be at most 2048 characters/],
  ])("ListPaymentsRequest %o is refused", (fields, message) => {
    const result = validator.validate(ListPaymentsRequestSchema, create(ListPaymentsRequestSchema, fields));
    expect(result.error?.message).toMatch(message);
  });

  it("lets the PoC's requests through", () => {
    expect(validator.validate(StreamRequestSchema, create(StreamRequestSchema, { topic: "t" })).kind).toBe(
      "valid",
    );
    expect(
      validator.validate(
        ListPaymentsRequestSchema,
        create(ListPaymentsRequestSchema, { limit: 0, filter: "true" }),
      ).kind,
    ).toBe("valid");
  });
});
