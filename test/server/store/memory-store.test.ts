import { MemoryPaymentStore } from "../../../server/store/memory-store.js";
import { describePaymentStoreContract } from "./payment-store-contract.js";

describePaymentStoreContract(
  "memory",
  async ({ retention }) => ({
    store: new MemoryPaymentStore(retention ?? { maxPayments: 1_000_000, maxAgeMs: 24 * 3600 * 1000 }),
  }),
  { durable: false },
);
