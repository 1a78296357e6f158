// Plain HTTP probes for orchestrators: /healthz says the process is alive, /readyz says whether it
// can serve (Kafka reachable, store ready) and, when not, why.
export interface Readiness {
  /** Empty when ready; otherwise one sentence per reason. */
  notReadyReasons(): string[];
  /**
   * Per processed topic with an active feed: records streamed that the store (the view) has not
   * stored yet. Shown, never a reason to be unready: streams go on while the view catches up.
   */
  viewLag?(): Record<string, number>;
  /** Per processed topic with an active feed: records stored whose commit the broker has not confirmed. */
  commitLag?(): Record<string, number>;
  /** Per processed topic with an active feed: the partitions this instance processes. */
  processedPartitions?(): Record<string, number[]>;
  /**
   * Under SHARE_PROCESSING, per shared topic with any: the partitions nobody in the group processes.
   * Shown, never a reason to be unready: this instance serves; another one stopped.
   */
  unprocessedPartitions?(): Record<string, unknown[]>;
}

// The little of Node's HTTP/1.1 and HTTP/2 responses that the probes use.
interface Response {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body: string): unknown;
}

function reply(response: Response, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  response.end(text);
}

/** Answers the probe paths and returns true; returns false for any other path. */
export function serveHealthEndpoints(
  request: { url?: string | undefined },
  response: Response,
  readiness: Readiness,
): boolean {
  const path = (request.url ?? "").split("?")[0];
  if (path === "/healthz") {
    reply(response, 200, { status: "alive" });
    return true;
  }
  if (path === "/readyz") {
    const reasons = readiness.notReadyReasons();
    const viewLag = readiness.viewLag?.();
    const commitLag = readiness.commitLag?.();
    const processedPartitions = readiness.processedPartitions?.();
    const unprocessedPartitions = readiness.unprocessedPartitions?.();
    reply(response, reasons.length === 0 ? 200 : 503, {
      ready: reasons.length === 0,
      reasons,
      ...(viewLag ? { viewLag } : {}),
      ...(commitLag ? { commitLag } : {}),
      ...(processedPartitions ? { processedPartitions } : {}),
      ...(unprocessedPartitions ? { unprocessedPartitions } : {}),
    });
    return true;
  }
  return false;
}
