import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  GetPaymentRequestSchema,
  PaymentSchema,
  PaymentStatus,
  Provider,
} from "../../gen/payment/payment_pb.js";
import { loadPaymentService, ourProtoPath, pocProtoPath } from "../support/poc-proto.js";

// The PoC's client has never heard of amount_minor: it must skip it, and pa's own proto must carry it.
const protoFiles = [
  ["pa's proto/payment/payment.proto", ourProtoPath, { amountMinor: "5000", source: null }],
  ["the PoC client's payment.proto", pocProtoPath, {}],
] as const;

describe.each(protoFiles)(
  "@grpc/proto-loader with the PoC client's options, on %s",
  (_label, path, added) => {
    const service = loadPaymentService(path);

    it("finds payment.PaymentService with its four methods and their streaming shapes", () => {
      expect(Object.keys(service).sort()).toEqual([
        "GetPayment",
        "GetTopics",
        "ListPayments",
        "StreamPayments",
      ]);
      expect(service.GetPayment?.path).toBe("/payment.PaymentService/GetPayment");
      expect(service.StreamPayments?.requestStream).toBe(false);
      expect(service.StreamPayments?.responseStream).toBe(true);
      for (const name of ["GetPayment", "ListPayments", "GetTopics"]) {
        expect(service[name]?.responseStream, name).toBe(false);
      }
    });

    it("decodes a Payment that pa's generated code encoded, field for field", () => {
      const payment = create(PaymentSchema, {
        id: "pay_abc123",
        provider: Provider.STRIPE,
        amount: 50,
        currency: "USD",
        status: PaymentStatus.STATUS_COMPLETED,
        customerEmail: "user@example.com",
        createdAt: 1703001234n,
        processedAt: 9007199254740993n, // beyond a double's exact range: must survive as a string
        metadata: { order_id: "ORD-123" },
        amountMinor: 5000n,
      });
      const decoded = service.GetPayment?.responseDeserialize(Buffer.from(toBinary(PaymentSchema, payment)));
      expect(decoded).toEqual({
        id: "pay_abc123",
        provider: 1,
        amount: 50,
        currency: "USD",
        status: 2,
        customerEmail: "user@example.com",
        createdAt: "1703001234",
        processedAt: "9007199254740993",
        metadata: { order_id: "ORD-123" },
        ...added,
      });
    });

    it("encodes a request that pa's generated code decodes", () => {
      const bytes = service.GetPayment?.requestSerialize({ paymentId: "pay_1" });
      expect(bytes).toBeDefined();
      const request = fromBinary(GetPaymentRequestSchema, new Uint8Array(bytes as Buffer));
      expect(request.paymentId).toBe("pay_1");
    });
  },
);
