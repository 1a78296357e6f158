// The dashboard's live stream against an in-memory PaymentService (connect's router transport):
// with a listed snapshot it streams on from the list's as_of, so a stream that fails before its
// first live event (no resume trailer, e.g. a dropped connection) resumes from that position
// rather than from "latest", which would skip what was produced meanwhile.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { listSnapshot } from "../../../client/list-snapshot.js";
import {
  type ListPaymentsRequest,
  PaymentEventSchema,
  PaymentService,
  type StreamRequest,
} from "../../../gen/payment/payment_pb.js";
import { type ConnectionState, openLiveStream } from "../../../web/src/live/live-stream.js";
import { storedPaymentsPage } from "../../support/stored-payments.js";

// The page's origin, which plain-errors.ts names when pa is unreachable (not reached here): the
// dashboard's code is typed for the browser, this project's tests for Node.
declare global {
  var location: { readonly origin: string };
}

function paService(asOf: string) {
  const lists: ListPaymentsRequest[] = [];
  const streams: StreamRequest[] = [];
  const transport = createRouterTransport(({ service }) => {
    service(PaymentService, {
      listPayments(request) {
        lists.push(request);
        return storedPaymentsPage(asOf);
      },
      async *streamPayments(request, context) {
        streams.push(request);
        // The first stream drops before any event and without a trailer; the second sends one.
        if (streams.length === 1) throw new ConnectError("connection reset", Code.Unavailable);
        yield create(PaymentEventSchema, {
          eventType: "new",
          topic: "t",
          partition: 0,
          offset: 8n,
          cursor: "c9",
          payment: { id: "live_1" },
        });
        // Then stays open, as a quiet stream does.
        await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
      },
    });
  });
  return { client: createClient(PaymentService, transport), lists, streams };
}

describe("openLiveStream with a listed snapshot", () => {
  it("shows the listed payments oldest first, and streams on from as_of, also after a drop", async () => {
    const pa = paService("as-of-cursor");
    const seen: { id: string; type: string }[] = [];
    const states: ConnectionState["kind"][] = [];
    const stream = openLiveStream({
      client: pa.client,
      topic: "t",
      start: { kind: "latest" },
      filter: 'payment.currency == "USD"',
      existingLimit: 100,
      snapshot: (signal) =>
        listSnapshot(
          pa.client,
          { topic: "t", existingLimit: 100, filter: 'payment.currency == "USD"' },
          signal,
        ),
      onEvent: (event) => seen.push({ id: event.payment?.id ?? "", type: event.eventType }),
      onState: (state) => states.push(state.kind),
      backoff: { initialMs: 1, maxMs: 2 },
    });
    await expect.poll(() => seen.length).toBe(3);
    stream.stop();

    expect(seen).toEqual([
      { id: "stored_1", type: "existing" },
      { id: "stored_2", type: "existing" },
      { id: "live_1", type: "new" },
    ]);
    expect(pa.lists).toHaveLength(1);
    expect(pa.lists[0]).toMatchObject({ topic: "t", limit: 100, filter: 'payment.currency == "USD"' });
    expect(pa.streams).toHaveLength(2);
    for (const request of pa.streams) {
      expect(request.startPosition).toEqual({ case: "startCursor", value: "as-of-cursor" });
      expect(request.existingLimit).toBe(0);
    }
    expect(states).toContain("reconnecting");
    expect(stream.cursor).toBe("c9");
  });

  it("falls back to the stream's own snapshot when pa gives no position (a read-only topic)", async () => {
    const pa = paService("");
    const stream = openLiveStream({
      client: pa.client,
      topic: "t",
      start: { kind: "latest" },
      existingLimit: 100,
      snapshot: (signal) => listSnapshot(pa.client, { topic: "t", existingLimit: 100 }, signal),
      onEvent: () => {},
      onState: () => {},
      backoff: { initialMs: 1, maxMs: 2 },
    });
    await expect.poll(() => pa.streams.length).toBe(2);
    stream.stop();
    expect(pa.streams[0]?.startPosition.case).toBe("start");
    expect(pa.streams[0]?.existingLimit).toBe(100);
    // No cursor yet after the drop: the original start, without the snapshot again.
    expect(pa.streams[1]?.existingLimit).toBe(0);
  });
});
