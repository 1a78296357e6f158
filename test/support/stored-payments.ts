// pa's ListPayments answer for topic "t" in the unit tests of the listed snapshot
// (client/list-snapshot.ts) and of the two streams that start with it, pa-cli's and the
// dashboard's: two stored payments, newest first as pa lists, read at the store position `asOf`.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type PaymentList, PaymentListSchema } from "../../gen/payment/payment_pb.js";

export function storedPaymentsPage(asOf: string): PaymentList {
  return create(PaymentListSchema, {
    asOf,
    payments: [
      {
        id: "stored_2",
        source: { topic: "t", partition: 0, offset: 7n, kafkaTimestamp: timestampFromMs(1_000) },
      },
      { id: "stored_1", source: { topic: "t", partition: 1, offset: 3n } },
    ],
  });
}
