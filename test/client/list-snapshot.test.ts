// The listed snapshot against an in-memory PaymentService (connect's router transport): it lists
// what the stream it precedes would show as existing, and hands back the list's as_of as the
// stream's start.
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { listSnapshot } from "../../client/list-snapshot.js";
import {
  type ListPaymentsRequest,
  PaymentService,
  PaymentStatus,
  Provider,
} from "../../gen/payment/payment_pb.js";
import { storedPaymentsPage } from "../support/stored-payments.js";

function paService(asOf: string) {
  const lists: ListPaymentsRequest[] = [];
  // ListPayments alone: a snapshot calls nothing else.
  const transport = createRouterTransport((router) =>
    router.rpc(PaymentService.method.listPayments, (request) => {
      lists.push(request);
      return storedPaymentsPage(asOf);
    }),
  );
  return { client: createClient(PaymentService, transport), lists };
}

describe("listSnapshot", () => {
  it("lists with the stream's topic, provider, status, filter and existing_limit", async () => {
    const pa = paService("as-of");
    await listSnapshot(
      pa.client,
      {
        topic: "t",
        provider: Provider.STRIPE,
        status: PaymentStatus.STATUS_COMPLETED,
        filter: "payment.amount_minor > 0",
        existingLimit: 5,
      },
      new AbortController().signal,
    );
    expect(pa.lists).toHaveLength(1);
    expect(pa.lists[0]).toMatchObject({
      topic: "t",
      provider: Provider.STRIPE,
      status: PaymentStatus.STATUS_COMPLETED,
      filter: "payment.amount_minor > 0",
      limit: 5,
    });
  });

  it("asks for pa's default existing_limit (100) when the stream names none, not a list's 10", async () => {
    const pa = paService("as-of");
    await listSnapshot(pa.client, { topic: "t" }, new AbortController().signal);
    expect(pa.lists[0]?.limit).toBe(100);
  });

  it("returns the payments oldest first as existing events, and as_of as the cursor", async () => {
    const snapshot = await listSnapshot(
      paService("as-of").client,
      { topic: "t" },
      new AbortController().signal,
    );
    expect(snapshot?.cursor).toBe("as-of");
    expect(
      snapshot?.events.map(({ payment, eventType, topic, partition, offset, kafkaTimestamp }) => ({
        id: payment?.id,
        eventType,
        topic,
        partition,
        offset,
        ms: kafkaTimestamp ? Number(kafkaTimestamp.seconds) * 1000 : undefined,
      })),
    ).toEqual([
      { id: "stored_1", eventType: "existing", topic: "t", partition: 1, offset: 3n, ms: undefined },
      { id: "stored_2", eventType: "existing", topic: "t", partition: 0, offset: 7n, ms: 1_000 },
    ]);
  });

  it("is undefined when pa gives no position (a topic streamed read-only)", async () => {
    expect(await listSnapshot(paService("").client, { topic: "t" }, new AbortController().signal)).toBe(
      undefined,
    );
  });
});
