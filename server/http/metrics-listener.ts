// METRICS_PORT: a small plain-HTTP listener for scrapers and probes only (/metrics, /healthz,
// /readyz), open to whoever reaches it. It lets a Prometheus in the cluster scrape pa without
// credentials while pa's own port requires them; keep the port off the public network.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { PaMetrics } from "../observability/metrics.js";
import { type Readiness, serveHealthEndpoints } from "./health-endpoints.js";
import { serveMetricsOpenly } from "./metrics-endpoint.js";

export class MetricsListener {
  private readonly server: http.Server;

  constructor(
    private readonly host: string,
    private readonly port: number,
    metrics: PaMetrics,
    readiness: Readiness,
  ) {
    this.server = http.createServer({ requestTimeout: 10_000 }, (request, response) => {
      if (serveMetricsOpenly(request, response, metrics)) return;
      if (serveHealthEndpoints(request, response, readiness)) return;
      response.writeHead(404, { "content-type": "text/plain" });
      response.end("this port serves only /metrics, /healthz and /readyz\n");
    });
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.port, this.host, () => {
        this.server.off("error", reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
