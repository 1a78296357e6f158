// The reconnect rules of pa-cli's stream, against an in-memory PaymentService (connect's router
// transport): what each call asks for after an interruption, and which failures end the stream.
// (A refused connection on the first call needs a real socket: pa-cli.integration.test.ts.)
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { runResumableStream } from "../../cli/resumable-stream.js";
import { listSnapshot } from "../../client/list-snapshot.js";
import {
  type ListPaymentsRequest,
  PaymentEventSchema,
  PaymentService,
  type StreamRequest,
} from "../../gen/payment/payment_pb.js";
import { storedPaymentsPage } from "../support/stored-payments.js";

type Step = (request: StreamRequest) => AsyncGenerator<ReturnType<typeof event>>;

function event(id: string, eventType: string, cursor: string) {
  return create(PaymentEventSchema, { eventType, topic: "t", cursor, payment: { id } });
}

/** A PaymentService whose n-th StreamPayments call runs steps[n]; records every request. */
function service(steps: Step[]) {
  const requests: StreamRequest[] = [];
  const transport = createRouterTransport(({ service: register }) => {
    register(PaymentService, {
      async *streamPayments(request) {
        requests.push(request);
        const step = steps[requests.length - 1];
        if (!step) throw new ConnectError("no more steps", Code.FailedPrecondition);
        yield* step(request);
      },
    });
  });
  return { client: createClient(PaymentService, transport), requests };
}

function shutdown(cursor?: string): ConnectError {
  const trailer = new Headers();
  if (cursor) trailer.set("pa-resume-cursor", cursor);
  return new ConnectError("pa is shutting down", Code.Unavailable, trailer);
}

async function run(steps: Step[], stopAfter: number) {
  const { client, requests } = service(steps);
  const stop = new AbortController();
  const seen: string[] = [];
  const reconnects: { attempt: number; fromCursor: boolean }[] = [];
  const cursor = await runResumableStream({
    client,
    signal: stop.signal,
    request: { topic: "t", existingLimit: 5 },
    initialDelayMs: 1,
    maxDelayMs: 5,
    onEvent: (e) => {
      seen.push(e.payment?.id ?? "");
      if (seen.length === stopAfter) stop.abort();
    },
    onReconnecting: ({ attempt, fromCursor }) => reconnects.push({ attempt, fromCursor }),
    onReconnected: () => {},
  });
  return { cursor, seen, requests, reconnects };
}

describe("runResumableStream", () => {
  it("resumes from pa's resume-cursor trailer without asking for the snapshot again", async () => {
    const { seen, requests, reconnects, cursor } = await run(
      [
        async function* () {
          yield event("stored", "existing", "");
          yield event("a", "new", "c1");
          throw shutdown("c2");
        },
        async function* () {
          yield event("b", "new", "c3");
        },
      ],
      3,
    );
    expect(seen).toEqual(["stored", "a", "b"]);
    expect(requests[0].existingLimit).toBe(5);
    expect(requests[1].existingLimit).toBe(0);
    expect(requests[1].startPosition).toEqual({ case: "startCursor", value: "c2" });
    expect(reconnects).toEqual([{ attempt: 1, fromCursor: true }]);
    expect(cursor).toBe("c3");
  });

  it("falls back to the last event's cursor and counts attempts until an event arrives", async () => {
    const { requests, reconnects } = await run(
      [
        async function* () {
          yield event("a", "new", "c1");
          throw shutdown();
        },
        // biome-ignore lint/correctness/useYield: a call that fails before sending anything.
        async function* () {
          throw new ConnectError("connect ECONNREFUSED 127.0.0.1:1", Code.Unavailable);
        },
        async function* () {
          yield event("b", "new", "c2");
        },
      ],
      2,
    );
    expect(requests[1].startPosition).toEqual({ case: "startCursor", value: "c1" });
    expect(requests[2].startPosition).toEqual({ case: "startCursor", value: "c1" });
    expect(reconnects.map((r) => r.attempt)).toEqual([1, 2]);
  });

  it("without any cursor, repeats the request but not the snapshot it already showed", async () => {
    const { requests, reconnects } = await run(
      [
        async function* () {
          yield event("stored", "existing", "");
          throw shutdown();
        },
        async function* () {
          yield event("a", "new", "c1");
        },
      ],
      2,
    );
    expect(requests[1].existingLimit).toBe(0);
    expect(requests[1].startPosition.case).toBeUndefined();
    expect(reconnects).toEqual([{ attempt: 1, fromCursor: false }]);
  });

  it("ends with the error when pa refuses the request", async () => {
    const refused = run(
      [
        // biome-ignore lint/correctness/useYield: pa refuses before sending anything.
        async function* () {
          throw new ConnectError('topic "t" does not exist', Code.NotFound);
        },
      ],
      1,
    );
    await expect(refused).rejects.toMatchObject({ code: Code.NotFound });
  });
});

describe("runResumableStream with a listed snapshot", () => {
  it("shows the listed payments, then streams from as_of, also after a drop before any event", async () => {
    const lists: ListPaymentsRequest[] = [];
    const streams: StreamRequest[] = [];
    const transport = createRouterTransport(({ service: register }) => {
      register(PaymentService, {
        listPayments(request) {
          lists.push(request);
          return storedPaymentsPage("as-of");
        },
        async *streamPayments(request) {
          streams.push(request);
          // A dropped connection: no event, no resume trailer.
          if (streams.length === 1) throw new ConnectError("socket hang up", Code.Unavailable);
          yield event("a", "new", "c1");
        },
      });
    });
    const client = createClient(PaymentService, transport);
    const stop = new AbortController();
    const seen: string[] = [];
    const request = { topic: "t", existingLimit: 2, filter: "payment.amount_minor > 0" };
    const cursor = await runResumableStream({
      client,
      signal: stop.signal,
      request,
      snapshot: (signal) => listSnapshot(client, request, signal),
      initialDelayMs: 1,
      maxDelayMs: 5,
      onEvent: (e) => {
        seen.push(`${e.eventType}:${e.payment?.id}`);
        if (seen.length === 3) stop.abort();
      },
      onReconnecting: () => {},
      onReconnected: () => {},
    });
    expect(seen).toEqual(["existing:stored_1", "existing:stored_2", "new:a"]);
    expect(lists).toHaveLength(1);
    expect(lists[0]).toMatchObject({ topic: "t", limit: 2, filter: "payment.amount_minor > 0" });
    expect(streams).toHaveLength(2);
    for (const sent of streams) {
      expect(sent.startPosition).toEqual({ case: "startCursor", value: "as-of" });
      expect(sent.existingLimit).toBe(0);
    }
    expect(cursor).toBe("c1");
  });
});
