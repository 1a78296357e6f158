import http2 from "node:http2";
import net from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ServerReflectionV1 } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { StreamRequestSchema } from "../../../gen/payment/payment_pb.js";
import { frameMessage } from "../../../server/streaming/event-frames.js";
import { createTopics, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");

/** Resolves with how long the server took to close a connection after it opened. */
function closedAfter(socket: net.Socket): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => socket.once("close", () => resolve(Date.now() - started)));
}

function http2Get(baseUrl: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.on("error", reject);
    const request = session.request({ ":path": path });
    let body = "";
    let status = 0;
    request.on("response", (headers) => {
      status = Number(headers[":status"]);
    });
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => {
      body += chunk;
    });
    request.on("end", () => {
      session.close();
      resolve({ status, body });
    });
    request.end();
  });
}

describe("one port for HTTP/1.1 and HTTP/2", () => {
  let pa: RunningPa;

  beforeAll(async () => {
    pa = await startPa(bootstrap, { HTTP_HEADERS_TIMEOUT: "1s" });
  });
  afterAll(async () => {
    await pa?.stop();
  });

  it("serves the same endpoints over HTTP/1.1 and over HTTP/2 with prior knowledge", async () => {
    const overHttp1 = await fetch(`${pa.baseUrl}/healthz`);
    expect(overHttp1.status).toBe(200);
    expect(await overHttp1.json()).toEqual({ status: "alive" });
    const overHttp2 = await http2Get(pa.baseUrl, "/readyz");
    expect(overHttp2.status).toBe(200);
    expect(JSON.parse(overHttp2.body)).toEqual({
      ready: true,
      reasons: [],
      viewLag: {},
      commitLag: {},
      processedPartitions: {},
      unprocessedPartitions: {},
    });
  });

  it("cuts off a slowloris client that trickles its request headers", async () => {
    const socket = net.connect(pa.port, "127.0.0.1");
    const closed = closedAfter(socket);
    socket.on("error", () => {});
    const request = "GET /healthz HTTP/1.1\r\nHost: pa\r\nX-Slow: ";
    let sent = 0;
    // One byte every 100 ms keeps an inactivity timer alive forever; the deadline must not care.
    const trickle = setInterval(() => {
      if (socket.destroyed) return clearInterval(trickle);
      socket.write(request[sent % request.length] as string);
      sent++;
    }, 100);
    const elapsed = await closed;
    clearInterval(trickle);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(10_000);
    expect(sent).toBeLessThan(100);
  });

  it("cuts off a client that never finishes the HTTP/2 preface", async () => {
    const socket = net.connect(pa.port, "127.0.0.1");
    socket.on("error", () => {});
    const closed = closedAfter(socket);
    socket.write("PRI * HTTP/2.0\r\n");
    expect(await closed).toBeGreaterThanOrEqual(900);
  });

  it("keeps an HTTP/1.1 connection for several requests and then lets it go idle", async () => {
    for (let i = 0; i < 3; i++) expect((await fetch(`${pa.baseUrl}/healthz`)).status).toBe(200);
  });

  it("releases a stream's subscription when its client vanishes without a word", async () => {
    const topic = uniqueTopic("vanish");
    await createTopics(bootstrap, [topic]);
    // The raw socket underneath, so the test can vanish the way a crashed client or a cut cable does.
    const socket = net.connect(pa.port, "127.0.0.1");
    const session = http2.connect(pa.baseUrl, { createConnection: () => socket });
    session.on("error", () => {});
    const frame = frameMessage(
      toBinary(StreamRequestSchema, create(StreamRequestSchema, { topic, existingLimit: 0 })),
    );
    const stream = session.request({
      ":method": "POST",
      ":path": "/payment.PaymentService/StreamPayments",
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.on("error", () => {});
    stream.end(frame);
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 1);
    socket.destroy();
    await waitUntil(() => pa.app.hub.subscriptionsOf(topic).length === 0, 5_000);
  });

  it("answers gRPC server reflection (v1 and v1alpha) and grpc.health.v1 over native gRPC", async () => {
    const transport = createGrpcTransport({ baseUrl: pa.baseUrl });
    for (const service of [ServerReflectionV1, ServerReflectionV1alpha]) {
      const reflection = createClient(service, transport);
      async function* requests() {
        yield { messageRequest: { case: "listServices" as const, value: "" } };
        yield { messageRequest: { case: "fileContainingSymbol" as const, value: "payment.PaymentService" } };
      }
      const responses = [];
      for await (const response of reflection.serverReflectionInfo(requests())) responses.push(response);
      const [list, file] = responses;
      expect(list?.messageResponse.case).toBe("listServicesResponse");
      const names =
        list?.messageResponse.case === "listServicesResponse"
          ? list.messageResponse.value.service.map((s) => s.name)
          : [];
      expect(names).toEqual(expect.arrayContaining(["payment.PaymentService", "grpc.health.v1.Health"]));
      expect(file?.messageResponse.case).toBe("fileDescriptorResponse");
      if (file?.messageResponse.case === "fileDescriptorResponse") {
        const files = file.messageResponse.value.fileDescriptorProto.map((bytes) =>
          fromBinary(FileDescriptorProtoSchema, bytes),
        );
        const payment = files.find((f) => f.name === "payment/payment.proto");
        expect(payment?.service[0]?.method.map((m) => m.name)).toEqual([
          "GetPayment",
          "ListPayments",
          "StreamPayments",
          "GetTopics",
        ]);
      }
    }
    const health = createClient(Health, transport);
    expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await health.check({ service: "payment.PaymentService" })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
  });
});
