// Fuzz: 100,000 random and mutated requests (bench/support/fuzz-requests.ts) over gRPC, gRPC-Web
// and Connect, to every method of every service pa serves, on loopback, from a bounded number of
// connections. pa must answer each with a proper status: the run fails on any INTERNAL answer and
// if pa's process exits. pa's resident memory is sampled throughout.
import http from "node:http";
import http2 from "node:http2";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ReflectionV1 } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { DeadLetterService } from "../gen/pa/admin/v1/dead_letter_service_pb.js";
import { PaymentService } from "../gen/payment/payment_pb.js";
import { type FuzzRequest, FuzzRequests, targetsOf } from "./support/fuzz-requests.js";
import { PaProcess } from "./support/pa-process.js";
import type { BenchContext, Scenario, ScenarioResult } from "./support/scenario.js";
import { formatCount, formatMiB } from "./support/stats.js";

const WORKERS = 48;
const HTTP2_SESSIONS = 4;
// A call still open after this long (a stream, a health Watch) is cancelled by the client.
const CALL_BUDGET_MS = 1_000;
const RSS_SAMPLE_MS = 250;
const EXAMPLES_KEPT = 5;

/** The fuzz run failed: pa crashed or answered INTERNAL. */
export class FuzzFailure extends Error {
  override readonly name = "FuzzFailure";
}

type Outcome = { status: string; internal: boolean; detail: string };

export const fuzz: Scenario = {
  name: "fuzz",
  title: "random and mutated requests over gRPC, gRPC-Web and Connect to every method",
  async run(context: BenchContext): Promise<ScenarioResult> {
    const total = context.sizes.requests;
    const topic = `bench.fuzz.${context.runId}`;
    await context.kafka.createTopics([topic]);
    const pa = await PaProcess.start({
      ...context.pa,
      groupId: `bench-${context.runId}-fuzz`,
      // Every request reaches the handlers: one client address would otherwise meet the
      // per-caller rate limit at once, and the run would test only that.
      env: { MAX_REQUESTS_PER_SECOND: "10000000", TOPIC_ALLOWLIST: "bench.fuzz.*" },
    });
    const requests = new FuzzRequests(
      targetsOf([PaymentService, DeadLetterService, Health, ReflectionV1, ReflectionV1alpha]),
      [topic, `${topic}.missing`, "bench.fuzz.none"],
      Number.parseInt(context.runId.slice(-4), 16),
    );
    const sender = new Sender(pa.baseUrl);
    const statuses = new Map<string, number>();
    const byProtocol = new Map<string, number>();
    const internals: string[] = [];
    let internalCount = 0;

    const rss = { start: pa.status().rssBytes, peak: 0, end: 0 };
    rss.peak = rss.start;
    const sampler = setInterval(() => {
      if (pa.running) rss.peak = Math.max(rss.peak, pa.status().rssBytes);
    }, RSS_SAMPLE_MS);
    let sent = 0;
    let crashed = false;
    const started = performance.now();
    const progress = setInterval(() => context.log(`${formatCount(sent)} requests sent`), 10_000);
    try {
      await Promise.all(
        Array.from({ length: WORKERS }, async () => {
          while (sent < total && !crashed) {
            sent++;
            const request = requests.next();
            const outcome = await sender.send(request);
            statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
            const key = `${request.protocol} over HTTP/${request.httpVersion}`;
            byProtocol.set(key, (byProtocol.get(key) ?? 0) + 1);
            if (outcome.internal) {
              internalCount++;
              if (internals.length < EXAMPLES_KEPT)
                internals.push(
                  `${request.protocol} ${request.path} (${request.mutation}): ${outcome.detail}`,
                );
            }
            if (!pa.running) crashed = true;
          }
        }),
      );
    } finally {
      clearInterval(sampler);
      clearInterval(progress);
      sender.close();
    }
    const seconds = (performance.now() - started) / 1000;
    crashed ||= !pa.running;
    if (!crashed) rss.end = pa.status().rssBytes;
    const log = crashed ? pa.logTail() : "";
    if (!crashed) await pa.stop();

    const codes = [...statuses]
      .sort((a, b) => b[1] - a[1])
      .map(([status, n]) => `${status} ${formatCount(n)}`);
    context.log(`${formatCount(sent)} requests in ${seconds.toFixed(1)} s: ${codes.join(", ")}`);
    for (const example of internals) context.log(`INTERNAL: ${example}`);
    if (crashed) throw new FuzzFailure(`pa exited during the fuzz run; its last log lines:\n${log}`);
    if (internalCount > 0) {
      throw new FuzzFailure(
        `${internalCount} requests were answered INTERNAL, e.g.\n${internals.join("\n")}`,
      );
    }
    return {
      rows: [
        { measure: "fuzz: requests sent (gRPC, gRPC-Web, Connect)", pa: formatCount(sent), baseline: "" },
        { measure: "fuzz: requests/s", pa: `${formatCount(Math.round(sent / seconds))}/s`, baseline: "" },
        { measure: "fuzz: pa crashes", pa: "0", baseline: "", target: "0", met: true },
        {
          measure: "fuzz: INTERNAL answers",
          pa: String(internalCount),
          baseline: "",
          target: "0",
          met: true,
        },
        {
          measure: "fuzz: pa RSS start / peak / end",
          pa: `${formatMiB(rss.start)} / ${formatMiB(rss.peak)} / ${formatMiB(rss.end)}`,
          baseline: "",
        },
      ],
      notes: [
        `fuzz answers: ${codes.join(", ")}`,
        `fuzz protocols: ${[...byProtocol].map(([name, n]) => `${name} ${formatCount(n)}`).join(", ")}`,
      ],
    };
  },
};

/** Sends raw requests over a few HTTP/2 sessions and a keep-alive HTTP/1.1 agent. */
class Sender {
  private readonly sessions: (http2.ClientHttp2Session | undefined)[] = [];
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: WORKERS / 2 });
  private turn = 0;

  constructor(private readonly baseUrl: string) {}

  send(request: FuzzRequest): Promise<Outcome> {
    return request.httpVersion === 2 ? this.sendHttp2(request) : this.sendHttp1(request);
  }

  close(): void {
    for (const session of this.sessions) session?.destroy();
    this.agent.destroy();
  }

  private session(): http2.ClientHttp2Session {
    const index = this.turn++ % HTTP2_SESSIONS;
    const existing = this.sessions[index];
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const session = http2.connect(this.baseUrl);
    session.on("error", () => {});
    session.on("goaway", () => {
      if (this.sessions[index] === session) this.sessions[index] = undefined;
    });
    this.sessions[index] = session;
    return session;
  }

  private sendHttp2(request: FuzzRequest): Promise<Outcome> {
    return new Promise((resolve) => {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.session().request({ ":method": "POST", ":path": request.path, ...request.headers });
      } catch (error) {
        resolve({
          status: `client error ${(error as { code?: string }).code ?? ""}`,
          internal: false,
          detail: "",
        });
        return;
      }
      let headers: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const body: Buffer[] = [];
      let kept = 0;
      const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), CALL_BUDGET_MS);
      stream.on("response", (h) => {
        headers = h;
      });
      stream.on("trailers", (t) => {
        trailers = t;
      });
      stream.on("data", (chunk: Buffer) => {
        if (kept < 65_536) body.push(chunk);
        kept += chunk.length;
      });
      stream.on("error", () => {});
      stream.on("close", () => {
        clearTimeout(timer);
        resolve(
          classify(
            Number(headers[":status"] ?? 0),
            { ...headers, ...trailers },
            Buffer.concat(body),
            stream.rstCode,
          ),
        );
      });
      stream.end(request.body);
    });
  }

  private sendHttp1(request: FuzzRequest): Promise<Outcome> {
    return new Promise((resolve) => {
      const { hostname, port } = new URL(this.baseUrl);
      const outgoing = http.request({
        host: hostname,
        port,
        path: request.path,
        method: "POST",
        agent: this.agent,
        headers: { ...request.headers, "content-length": request.body.length },
      });
      let settled = false;
      const done = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        outgoing.destroy();
        done({ status: "cancelled by the client", internal: false, detail: "" });
      }, CALL_BUDGET_MS);
      outgoing.on("error", (error) =>
        done({
          status: `connection ${(error as { code?: string }).code ?? "error"}`,
          internal: false,
          detail: "",
        }),
      );
      outgoing.on("response", (response) => {
        const body: Buffer[] = [];
        let kept = 0;
        response.on("data", (chunk: Buffer) => {
          if (kept < 65_536) body.push(chunk);
          kept += chunk.length;
        });
        response.on("error", () => {});
        response.on("end", () => {
          const headers = { ...response.headers, ...response.trailers } as http2.IncomingHttpHeaders;
          done(classify(response.statusCode ?? 0, headers, Buffer.concat(body), undefined));
        });
      });
      outgoing.end(request.body);
    });
  }
}

// The status in each protocol's words: grpc-status (gRPC, and gRPC-Web's trailers, which are in
// the body), Connect's JSON error code, or the HTTP status.
function classify(
  httpStatus: number,
  headers: http2.IncomingHttpHeaders,
  body: Buffer,
  rstCode: number | undefined,
): Outcome {
  const text = body.toString("latin1");
  const grpcStatus =
    headers["grpc-status"] !== undefined
      ? String(headers["grpc-status"])
      : /grpc-status:\s*(\d+)/.exec(text)?.[1];
  const connectCode = /"code"\s*:\s*"([a-z_]+)"/.exec(text)?.[1];
  const internal = grpcStatus === "13" || connectCode === "internal" || httpStatus === 500;
  const detail = `HTTP ${httpStatus}, grpc-status ${grpcStatus ?? "-"}, ${decodeURIComponent(String(headers["grpc-message"] ?? "")) || text.slice(0, 200)}`;
  if (grpcStatus !== undefined) return { status: `grpc-status ${grpcStatus}`, internal, detail };
  if (connectCode !== undefined) return { status: `connect ${connectCode}`, internal, detail };
  if (httpStatus === 0)
    return {
      status:
        rstCode === http2.constants.NGHTTP2_CANCEL ? "cancelled by the client" : `reset ${rstCode ?? ""}`,
      internal,
      detail,
    };
  return { status: `HTTP ${httpStatus}`, internal, detail };
}
