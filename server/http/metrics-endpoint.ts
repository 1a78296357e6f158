// GET /metrics in Prometheus' text format. On pa's port a loopback peer (a Prometheus or an agent
// on the same host or pod) reads it freely; anyone else needs an identity with the `metrics` grant.
// METRICS_PORT's listener (metrics-listener.ts) serves it to anyone who reaches that port instead.
import type { Identity } from "../auth/identity.js";
import type { PaMetrics } from "../observability/metrics.js";

// The little of Node's HTTP/1.1 and HTTP/2 requests and responses that the endpoint uses.
export interface MetricsRequest {
  url?: string | undefined;
  method?: string | undefined;
  socket: { remoteAddress?: string | undefined };
  headers?: { authorization?: string | undefined };
}

interface Response {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body: string): unknown;
}

/** Who may read /metrics: `allowed`, or the status and sentence to answer with. */
export type MetricsAccess = { allowed: true } | { allowed: false; status: 401 | 403; reason: string };

/** The caller of a plain HTTP request, as the authenticator sees it; throws AuthenticationError. */
export type HttpIdentify = (request: MetricsRequest) => Promise<Identity>;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && LOOPBACK.test(address);
}

/**
 * Whether the peer may read /metrics on pa's port: loopback always; anyone else with the `metrics`
 * grant of the identity `identify` finds (ANONYMOUS, which has it, while pa runs without
 * authentication; the authenticator's identity once AUTH_MODE asks for credentials).
 */
export async function metricsAccess(request: MetricsRequest, identify: HttpIdentify): Promise<MetricsAccess> {
  if (isLoopback(request.socket.remoteAddress)) return { allowed: true };
  let identity: Identity;
  try {
    identity = await identify(request);
  } catch (error) {
    return { allowed: false, status: 401, reason: error instanceof Error ? error.message : String(error) };
  }
  if (identity.grants.metrics) return { allowed: true };
  return {
    allowed: false,
    status: 403,
    reason: `${identity.name} lacks the "metrics" grant; read /metrics from loopback, grant "metrics", or scrape METRICS_PORT`,
  };
}

function isMetricsPath(request: MetricsRequest): boolean {
  return (request.url ?? "").split("?")[0] === "/metrics";
}

async function answer(
  request: MetricsRequest,
  response: Response,
  metrics: PaMetrics,
  access: () => Promise<MetricsAccess>,
): Promise<void> {
  try {
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { "content-type": "text/plain", allow: "GET, HEAD" });
      response.end("GET /metrics\n");
      return;
    }
    const decision = await access();
    if (!decision.allowed) {
      response.writeHead(decision.status, { "content-type": "text/plain" });
      response.end(`${decision.reason}\n`);
      return;
    }
    const { contentType, body } = await metrics.scrape();
    response.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
    response.end(request.method === "HEAD" ? "" : body);
  } catch (error) {
    response.writeHead(500, { "content-type": "text/plain" });
    response.end(`collecting metrics failed: ${String(error)}\n`);
  }
}

/** Answers /metrics (on pa's port, with access checked) and returns true; false for any other path. */
export function serveMetrics(
  request: MetricsRequest,
  response: Response,
  metrics: PaMetrics,
  identify: HttpIdentify,
): boolean {
  if (!isMetricsPath(request)) return false;
  void answer(request, response, metrics, () => metricsAccess(request, identify));
  return true;
}

/** Answers /metrics to anyone (METRICS_PORT's listener) and returns true; false for any other path. */
export function serveMetricsOpenly(request: MetricsRequest, response: Response, metrics: PaMetrics): boolean {
  if (!isMetricsPath(request)) return false;
  void answer(request, response, metrics, () => Promise.resolve({ allowed: true }));
  return true;
}
