// The limits on connections, streams, request rate and request bodies, seen by real clients.
import http2 from "node:http2";
import net from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Health } from "../../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { StreamStart } from "../../../gen/payment/payment_pb.js";
import { connectJsonClient, grpcClient, grpcWebClient } from "../../support/clients.js";
import { createTopics, produce, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { openStream, waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");
const liveOnly = { existingLimit: 0, startPosition: { case: "start" as const, value: StreamStart.LATEST } };

function payment(id: string) {
  return { key: id, value: JSON.stringify({ id, provider: "stripe", amount: 100, currency: "USD" }) };
}

/** Resolves with what the server sent before it closed the connection. */
function refusedOrAnswered(port: number): Promise<string> {
  return new Promise((resolve) => {
    let received = "";
    const socket = net.connect(port, "127.0.0.1", () =>
      socket.write("GET /healthz HTTP/1.1\r\nHost: pa\r\n\r\n"),
    );
    socket.on("data", (chunk) => {
      received += chunk.toString();
      socket.destroy();
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve(received));
  });
}

function http2Healthz(session: http2.ClientHttp2Session): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = session.request({ ":path": "/healthz" });
    request.on("response", (headers) => resolve(Number(headers[":status"])));
    request.on("error", reject);
    request.resume();
    request.end();
  });
}

describe("MAX_CONNECTIONS", () => {
  let pa: RunningPa;
  let topic: string;

  beforeAll(async () => {
    topic = uniqueTopic("connections");
    await createTopics(bootstrap, [topic], 1);
    pa = await startPa(bootstrap, { MAX_CONNECTIONS: "20" });
  });
  afterAll(async () => {
    await pa?.stop();
  });

  it("refuses 200 connections over the cap at once while the open ones keep streaming", async () => {
    const client = grpcClient(pa.baseUrl);
    const stream = openStream((signal) => client.streamPayments({ topic, ...liveOnly }, { signal }));
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1);
    await produce(bootstrap, topic, [payment("pay_before")]);
    await stream.waitFor(1);

    // 19 more connections fill the cap; each proves it was accepted by an answer.
    const fillers = Array.from({ length: 19 }, () => http2.connect(pa.baseUrl));
    for (const session of fillers) session.on("error", () => {});
    expect(await Promise.all(fillers.map(http2Healthz))).toEqual(Array(19).fill(200));

    const producing = produce(
      bootstrap,
      topic,
      Array.from({ length: 20 }, (_, i) => payment(`pay_during_${i}`)),
    );
    const answers = await Promise.all(Array.from({ length: 200 }, () => refusedOrAnswered(pa.port)));
    expect(answers.filter((answer) => answer !== "")).toEqual([]);
    await producing;
    // The stream that was open all along received everything produced meanwhile.
    await stream.waitFor(21);
    expect(stream.events.map((e) => e.payment?.id)).toContain("pay_during_19");
    // So did the filler connections: they still answer.
    expect(await http2Healthz(fillers[0] as http2.ClientHttp2Session)).toBe(200);

    for (const session of fillers) session.destroy();
    await waitUntil(async () => (await refusedOrAnswered(pa.port)).startsWith("HTTP/1.1 200"));
    stream.close();
  });
});

describe("per-caller limits", () => {
  let pa: RunningPa;
  let topic: string;

  beforeAll(async () => {
    topic = uniqueTopic("per-caller");
    await createTopics(bootstrap, [topic], 1);
    pa = await startPa(bootstrap, { MAX_STREAMS_PER_IDENTITY: "2", MAX_REQUESTS_PER_SECOND: "20" });
  });
  afterAll(async () => {
    await pa?.stop();
  });

  it("caps one caller's streams across connections with RESOURCE_EXHAUSTED and retry-after", async () => {
    // Each client has its own connection: the cap is the caller's (here its address), not the connection's.
    const open = [grpcClient(pa.baseUrl), grpcClient(pa.baseUrl)].map((client) =>
      openStream((signal) => client.streamPayments({ topic, ...liveOnly }, { signal })),
    );
    await waitUntil(
      () => pa.app.streamSlots.count === 2,
      20_000,
      () => `${pa.app.streamSlots.count} streams open`,
    );
    for (const client of [grpcClient(pa.baseUrl), grpcWebClient(pa.baseUrl)]) {
      const third = openStream((signal) => client.streamPayments({ topic, ...liveOnly }, { signal }));
      const error = ConnectError.from(await third.done);
      expect(error).toMatchObject({
        code: Code.ResourceExhausted,
        rawMessage: expect.stringMatching(/MAX_STREAMS_PER_IDENTITY=2.*retry in 5 s/),
      });
      expect(error.metadata.get("retry-after")).toBe("5");
    }
    for (const stream of open) stream.close();
    await waitUntil(
      () => pa.app.streamSlots.count === 0,
      20_000,
      () => `${pa.app.streamSlots.count} streams still open`,
    );
  });

  it("limits one caller's requests per second with RESOURCE_EXHAUSTED saying when to retry", async () => {
    const client = connectJsonClient(pa.baseUrl);
    const outcomes = await Promise.allSettled(Array.from({ length: 60 }, () => client.getTopics({})));
    const refused = outcomes
      .filter((o): o is PromiseRejectedResult => o.status === "rejected")
      .map((o) => ConnectError.from(o.reason));
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) {
      expect(error).toMatchObject({
        code: Code.ResourceExhausted,
        rawMessage: expect.stringMatching(/MAX_REQUESTS_PER_SECOND=20\); retry in \d+ ms, after \d{4}-/),
      });
      expect(Number(error.metadata.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }
  });
});

describe("health Watch and reflection count toward MAX_STREAMS", () => {
  let pa: RunningPa;
  let topic: string;

  beforeAll(async () => {
    topic = uniqueTopic("max-streams");
    await createTopics(bootstrap, [topic], 1);
    pa = await startPa(bootstrap, { MAX_STREAMS: "2" });
  });
  afterAll(async () => {
    await pa?.stop();
  });

  it("refuses a StreamPayments and a third watch while a Watch and a reflection stream are open", async () => {
    const transport = createGrpcTransport({ baseUrl: pa.baseUrl });
    const health = createClient(Health, transport);
    const reflection = createClient(ServerReflection, transport);
    const watching = new AbortController();
    const watch = (async () => {
      for await (const _ of health.watch({ service: "" }, { signal: watching.signal })) {
      }
    })().catch(() => {});
    const reflecting = new AbortController();
    let endRequests: () => void = () => {};
    const requestsOpen = new Promise<void>((resolve) => {
      endRequests = resolve;
    });
    async function* requests() {
      yield { messageRequest: { case: "listServices" as const, value: "" } };
      await requestsOpen;
    }
    const answers: unknown[] = [];
    const reflect = (async () => {
      for await (const answer of reflection.serverReflectionInfo(requests(), { signal: reflecting.signal }))
        answers.push(answer);
    })().catch(() => {});
    await waitUntil(() => pa.app.streamSlots.count === 2 && answers.length === 1);

    const payments = grpcClient(pa.baseUrl);
    const refused = openStream((signal) => payments.streamPayments({ topic, ...liveOnly }, { signal }));
    expect(ConnectError.from(await refused.done)).toMatchObject({
      code: Code.ResourceExhausted,
      rawMessage: expect.stringContaining("MAX_STREAMS=2"),
    });
    const thirdWatch = health.watch({ service: "" });
    await expect(
      (async () => {
        for await (const _ of thirdWatch) {
        }
      })(),
    ).rejects.toMatchObject({ code: Code.ResourceExhausted });

    // A Watch that ends gives its slot back.
    watching.abort();
    await watch;
    await waitUntil(() => pa.app.streamSlots.count === 1);
    const admitted = openStream((signal) => payments.streamPayments({ topic, ...liveOnly }, { signal }));
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1);
    admitted.close();
    endRequests();
    reflecting.abort();
    await reflect;
    await waitUntil(() => pa.app.streamSlots.count === 0);
  });
});

describe("HTTP_BODY_TIMEOUT", () => {
  let pa: RunningPa;

  beforeAll(async () => {
    pa = await startPa(bootstrap, { HTTP_BODY_TIMEOUT: "1s" });
  });
  afterAll(async () => {
    await pa?.stop();
  });

  it("closes an HTTP/1.1 connection whose request body does not arrive in time", async () => {
    const socket = net.connect(pa.port, "127.0.0.1");
    socket.on("error", () => {});
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString();
    });
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write(
      "POST /payment.PaymentService/GetPayment HTTP/1.1\r\nHost: pa\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    );
    await closed;
    expect(received).toBe("");
  });

  it("resets an HTTP/2 stream whose request body does not arrive in time, and keeps the connection", async () => {
    const session = http2.connect(pa.baseUrl);
    session.on("error", () => {});
    const stream = session.request({
      ":method": "POST",
      ":path": "/payment.PaymentService/GetPayment",
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.on("error", () => {});
    stream.write(Buffer.from([0, 0, 0, 0, 10]));
    const code = await new Promise<number>((resolve) => stream.once("close", () => resolve(stream.rstCode)));
    expect(code).toBe(http2.constants.NGHTTP2_CANCEL);
    expect(await http2Healthz(session)).toBe(200);
    session.destroy();
  });

  it("leaves a reflection stream, whose request body is a stream, open past it", async () => {
    const reflection = createClient(ServerReflection, createGrpcTransport({ baseUrl: pa.baseUrl }));
    let ask: (() => void) | undefined;
    async function* requests() {
      yield { messageRequest: { case: "listServices" as const, value: "" } };
      await new Promise<void>((resolve) => {
        ask = resolve;
      });
      yield { messageRequest: { case: "listServices" as const, value: "" } };
    }
    let answers = 0;
    const abort = new AbortController();
    const reading = (async () => {
      for await (const _ of reflection.serverReflectionInfo(requests(), { signal: abort.signal })) answers++;
    })();
    await waitUntil(() => answers === 1);
    // Longer than the body timeout, then a second question on the same call.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    ask?.();
    await waitUntil(() => answers === 2);
    abort.abort();
    await reading.catch(() => {});
  });
});
