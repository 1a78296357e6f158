// OpenTelemetry tracing against an in-process OTLP/HTTP collector: a record produced with a W3C
// traceparent yields one trace holding pa's consume span and, under it, parse, store write (or
// dead-letter publish) and the send to each stream. Without OTEL_EXPORTER_OTLP_ENDPOINT nothing is
// exported and the tracer provider is the API's no-op one.
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ProxyTracerProvider } from "@opentelemetry/api";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { DeadLetterService } from "../../../gen/pa/admin/v1/dead_letter_service_pb.js";
import { createPaymentGenerator } from "../../../server/demo/payment-generator.js";
import { grpcClient, grpcWebClient } from "../../support/clients.js";
import { createTopics, produce, uniqueTopic } from "../../support/kafka.js";
import { type RunningPa, startPa } from "../../support/pa.js";
import { openStream, waitUntil } from "../../support/streams.js";

const bootstrap = inject("kafkaBootstrap");

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  links?: { traceId: string; spanId: string }[];
}

/** An OTLP/HTTP collector: keeps every JSON export request's spans. */
class Collector {
  readonly spans: ExportedSpan[] = [];
  requests = 0;
  private readonly server = http.createServer((request, response) => {
    this.requests++;
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      expect(request.url).toBe("/v1/traces");
      expect(request.headers["content-type"]).toMatch(/application\/json/);
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      for (const resource of body.resourceSpans ?? [])
        for (const scope of resource.scopeSpans ?? []) this.spans.push(...(scope.spans ?? []));
      response.writeHead(200, { "content-type": "application/json" });
      response.end("{}");
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");

describe("tracing", () => {
  let collector: Collector;
  let pa: RunningPa | undefined;

  beforeEach(() => {
    collector = new Collector();
  });

  afterEach(async () => {
    await pa?.stop();
    pa = undefined;
    await collector.close();
  });

  async function streamTracedRecords(env: Record<string, string>, redrive = false) {
    const running = await startPa(bootstrap, env);
    pa = running;
    const topic = uniqueTopic("traced");
    await createTopics(bootstrap, [topic]);
    const streams = [grpcClient(running.baseUrl), grpcWebClient(running.baseUrl)].map((client) =>
      openStream((signal) => client.streamPayments({ topic, existingLimit: 0 }, { signal })),
    );
    await waitUntil(() => running.app.hub.subscriptionsOf(topic).length === streams.length);
    const generator = createPaymentGenerator({ seed: 9 });
    const valid = { traceId: hex(16), parent: hex(8) };
    const poison = { traceId: hex(16), parent: hex(8) };
    const traceparent = (t: { traceId: string; parent: string }) => `00-${t.traceId}-${t.parent}-01`;
    await produce(bootstrap, topic, [
      { ...generator.valid(), partition: 0, headers: { traceparent: traceparent(valid) } },
      { ...generator.invalid(), partition: 0, headers: { traceparent: traceparent(poison) } },
      { ...generator.valid(), partition: 0 },
    ]);
    await Promise.all(streams.map((stream) => stream.waitFor(2)));
    if (redrive) {
      // The poison record goes back to its topic, is read again, and is dead-lettered again.
      const admin = createClient(DeadLetterService, createGrpcTransport({ baseUrl: running.baseUrl }));
      await waitUntil(() => (running.app.hub.topicStatuses()[0]?.messagesDeadLettered ?? 0) === 1);
      const { redriven } = await admin.redriveDeadLetters({ topic, selection: { case: "all", value: true } });
      expect(redriven).toHaveLength(1);
      await waitUntil(() => (running.app.hub.topicStatuses()[0]?.messagesDeadLettered ?? 0) === 2);
    }
    for (const stream of streams) stream.close();
    // Stopping flushes the spans still batched.
    await running.stop();
    pa = undefined;
    return { topic, valid, poison, app: running.app };
  }

  it("continues a record's traceparent through consume, parse, store, dead-letter and stream send", async () => {
    const endpoint = await collector.listen();
    const { topic, valid, poison } = await streamTracedRecords(
      { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
      true,
    );

    const trace = collector.spans.filter((span) => span.traceId === valid.traceId);
    const consume = trace.find((span) => span.name === `${topic} process`);
    expect(consume?.parentSpanId).toBe(valid.parent);
    expect(consume?.kind).toBe(5); // CONSUMER
    const children = trace.filter((span) => span.parentSpanId === consume?.spanId).map((span) => span.name);
    expect(children.sort()).toEqual(
      ["parse payment", `${topic} send`, `${topic} send`, "store write"].sort(),
    );
    expect(trace).toHaveLength(5);

    const dead = collector.spans.filter((span) => span.traceId === poison.traceId);
    const deadConsume = dead.find(
      (span) => span.name === `${topic} process` && span.parentSpanId === poison.parent,
    );
    expect(deadConsume).toBeDefined();
    expect(
      dead
        .filter((span) => span.parentSpanId === deadConsume?.spanId)
        .map((span) => span.name)
        .sort(),
    ).toEqual([`${topic}.dlq publish`, "parse payment"].sort());

    // Redriven: published in the same trace (linked to the redrive call), and consumed under that.
    const publish = dead.find((span) => span.name === `${topic} publish`);
    expect(publish?.parentSpanId).toBe(poison.parent);
    expect(publish?.kind).toBe(4); // PRODUCER
    const redrive = collector.spans.find(
      (span) => span.name === "pa.admin.v1.DeadLetterService/RedriveDeadLetters",
    );
    expect(publish?.links?.map((link) => link.spanId)).toEqual([redrive?.spanId]);
    const consumedAgain = dead.filter((span) => span.name === `${topic} process` && span !== deadConsume);
    expect(consumedAgain.map((span) => span.parentSpanId)).toEqual([publish?.spanId]);

    // The untraced record has no spans of its own; the RPCs have server spans.
    expect(collector.spans.filter((span) => span.name === `${topic} process`)).toHaveLength(3);
    const rpcs = collector.spans.filter((span) => span.name === "payment.PaymentService/StreamPayments");
    expect(rpcs).toHaveLength(2);
    for (const rpc of rpcs) expect(rpc.kind).toBe(2); // SERVER
  });

  it("exports nothing and uses the no-op tracer when OTEL_EXPORTER_OTLP_ENDPOINT is unset", async () => {
    await collector.listen();
    const { app } = await streamTracedRecords({});
    expect(app.tracing.enabled).toBe(false);
    expect(app.tracing.provider).toBeInstanceOf(ProxyTracerProvider);
    expect(app.tracing.tracer.startSpan("probe").isRecording()).toBe(false);
    expect(collector.requests).toBe(0);
  });
});
