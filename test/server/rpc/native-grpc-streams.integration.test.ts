// The native gRPC path of StreamPayments (server/rpc/native-grpc-streams.ts) against real clients:
// the same events as Connect's path, deadlines, compressed requests (left to Connect) and
// malformed requests, each with the status a gRPC client expects.
import { once } from "node:events";
import http2 from "node:http2";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type PaymentEvent, StreamRequestSchema, StreamStart } from "../../../gen/payment/payment_pb.js";
import { frameMessage } from "../../../server/streaming/event-frames.js";
import { grpcClient, grpcWebClient, pocClient } from "../../support/clients.js";
import { createTopics, produce, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { pocLoaderOptions } from "../../support/poc-proto.js";
import { collect } from "../../support/streams.js";

const ourProto = fileURLToPath(new URL("../../../proto/payment/payment.proto", import.meta.url));

const bootstrap = inject("kafkaBootstrap");
let pa: RunningPa;

beforeAll(async () => {
  pa = await startPa(bootstrap);
});
afterAll(async () => {
  await pa?.stop();
});

const payment = (id: string, amount: number) => ({
  key: id,
  value: JSON.stringify({ id, provider: "stripe", amount, currency: "usd", status: "succeeded" }),
});

/** Sends raw bytes as a gRPC StreamPayments request; resolves with the response headers and trailers. */
async function rawCall(baseUrl: string, body: Buffer, headers: Record<string, string> = {}) {
  const session = http2.connect(baseUrl);
  try {
    const stream = session.request({
      ":method": "POST",
      ":path": "/payment.PaymentService/StreamPayments",
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    stream.end(body);
    const [responseHeaders] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on("trailers", (received: http2.IncomingHttpHeaders) => {
      trailers = received;
    });
    stream.resume();
    await once(stream, "close");
    return { headers: responseHeaders, trailers };
  } finally {
    session.close();
  }
}

describe("StreamPayments over native gRPC", () => {
  it("sends the same events, existing and new, as Connect's gRPC-Web path", async () => {
    const topic = uniqueTopic("native-same");
    await createTopics(bootstrap, [topic]);
    await produce(bootstrap, topic, [payment("pay_n1", 100), payment("pay_n2", 250)]);
    const request = {
      topic,
      existingLimit: 0,
      startPosition: { case: "start" as const, value: StreamStart.EARLIEST },
    };
    const [native, web] = await Promise.all([
      collect((signal) => grpcClient(pa.baseUrl).streamPayments(request, { signal }), 2),
      collect((signal) => grpcWebClient(pa.baseUrl).streamPayments(request, { signal }), 2),
    ]);
    expect(native.map(describeEvent).sort(byPosition)).toEqual(web.map(describeEvent).sort(byPosition));
    expect(native.map((event) => event.payment?.amountMinor).sort()).toEqual([100n, 250n]);

    // The stored snapshot goes first on this path too.
    const existing = await collect(
      (signal) => grpcClient(pa.baseUrl).streamPayments({ topic, existingLimit: 5 }, { signal }),
      2,
    );
    expect(existing.map((event) => event.eventType)).toEqual(["existing", "existing"]);
  });

  it("ends a call at its deadline (grpc-timeout) with DEADLINE_EXCEEDED from the server", async () => {
    const topic = uniqueTopic("native-deadline");
    await createTopics(bootstrap, [topic]);
    const request = toBinary(StreamRequestSchema, create(StreamRequestSchema, { topic }));
    const { headers, trailers } = await rawCall(pa.baseUrl, frameMessage(request), {
      "grpc-timeout": "1000m",
    });
    expect(headers[":status"]).toBe(200);
    expect(trailers["grpc-status"]).toBe(String(grpc.status.DEADLINE_EXCEEDED));
    expect(decodeURIComponent(String(trailers["grpc-message"]))).toMatch(/deadline \(grpc-timeout 1000m\)/);
  });

  it("serves a client that compresses its request (through Connect's handler)", async () => {
    const topic = uniqueTopic("native-gzip");
    await createTopics(bootstrap, [topic]);
    await produce(bootstrap, topic, [payment("pay_gz", 700)]);
    const definition = protoLoader.loadSync(ourProto, pocLoaderOptions);
    // biome-ignore lint/suspicious/noExplicitAny: proto-loader clients are untyped.
    const loaded = grpc.loadPackageDefinition(definition) as any;
    const client = new loaded.payment.PaymentService(
      `127.0.0.1:${pa.port}`,
      grpc.credentials.createInsecure(),
      {
        "grpc.default_compression_algorithm": 2, // gzip
      },
    );
    try {
      const call = client.StreamPayments({ topic, start: "STREAM_START_EARLIEST", existing_limit: 0 });
      call.on("error", () => {}); // the cancel below
      const [event] = (await once(call, "data")) as [{ payment: { id: string; amount_minor: string } }];
      expect(event.payment.id).toBe("pay_gz");
      call.cancel();
    } finally {
      client.close();
    }
  });

  it("answers a malformed request with INVALID_ARGUMENT in a trailers-only response", async () => {
    const notAMessage = Buffer.from([0, 0, 0, 0, 9, 0xff, 0xff, 0xff]);
    const { headers } = await rawCall(pa.baseUrl, notAMessage);
    expect(headers["grpc-status"]).toBe(String(grpc.status.INVALID_ARGUMENT));
    expect(decodeURIComponent(String(headers["grpc-message"]))).toMatch(/exactly one StreamRequest/);

    const { headers: empty } = await rawCall(pa.baseUrl, Buffer.alloc(0));
    expect(empty["grpc-status"]).toBe(String(grpc.status.INVALID_ARGUMENT));

    const { headers: badTimeout } = await rawCall(pa.baseUrl, Buffer.alloc(0), { "grpc-timeout": "soon" });
    expect(badTimeout["grpc-status"]).not.toBe("0");
  });

  it("answers a request for a missing topic with NOT_FOUND, as Connect's path does", async () => {
    const missing = uniqueTopic("native-missing");
    const client = pocClient(pa.port);
    try {
      const call = client.StreamPayments({ topic: missing });
      const [error] = (await once(call, "error")) as [grpc.ServiceError];
      expect(error.code).toBe(grpc.status.NOT_FOUND);
      expect(error.details).toContain(missing);
    } finally {
      client.close();
    }
  });
});

describe("status messages as the PoC's grpc-js client reads them", () => {
  let pa: RunningPa;
  beforeAll(async () => {
    pa = await startPa(inject("kafkaBootstrap"));
  });
  afterAll(() => pa?.stop());

  // grpc-js decodes grpc-message with decodeURI: Connect's encodeURIComponent left ":" as "%3A".
  it("reads punctuation and non-ASCII as written, on the native stream path and on Connect's unary path", async () => {
    const client = pocClient(pa.port);
    try {
      const call = client.StreamPayments({ topic: "bad/topic:é" });
      const [streamError] = (await once(call, "error")) as [grpc.ServiceError];
      expect(streamError.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(streamError.details).toMatch(
        /^topic "bad\/topic:é" is not a legal Kafka topic name: use at most/,
      );

      const unaryError = await new Promise<grpc.ServiceError>((resolve) =>
        client.ListPayments({ cursor: "not a cursor" }, (error: grpc.ServiceError) => resolve(error)),
      );
      expect(unaryError.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(unaryError.details).toBe("cursor is not one this server issued; pass a next_cursor unchanged");
    } finally {
      client.close();
    }
  });
});

function describeEvent(event: PaymentEvent) {
  return {
    id: event.payment?.id,
    amountMinor: event.payment?.amountMinor,
    type: event.eventType,
    partition: event.partition,
    offset: event.offset,
    topic: event.topic,
    hasCursor: event.cursor.length > 0,
  };
}

const byPosition = (a: { partition: number; offset: bigint }, b: { partition: number; offset: bigint }) =>
  a.partition - b.partition || Number(a.offset - b.offset);
