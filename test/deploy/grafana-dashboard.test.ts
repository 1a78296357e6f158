// The Grafana dashboard queries only metrics pa exports, and every pa_ metric: a renamed metric
// fails here, not on a blank panel in production, and a new one is not left without a panel.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PaMetrics } from "../../server/observability/metrics.js";
import { parsePrometheusText } from "../support/prometheus-text.js";

interface Panel {
  title: string;
  targets?: { expr: string }[];
}

describe("deploy/grafana/pa.json", () => {
  it("queries only metric names pa's registry exports", async () => {
    const dashboard = JSON.parse(
      readFileSync(new URL("../../deploy/grafana/pa.json", import.meta.url), "utf8"),
    );
    const metrics = new PaMetrics();
    // Nothing running: no topic, stream or connection, both breakers closed.
    metrics.observe({
      feeds: () => [],
      streamCount: () => 0,
      connectionCount: () => 0,
      breakers: () => [
        { dependency: "store", state: "closed" },
        { dependency: "dlq", state: "closed" },
      ],
      unprocessedPartitions: () => 0,
    });
    const exported = parsePrometheusText((await metrics.scrape()).body);
    const queried = new Set<string>();
    for (const panel of dashboard.panels as Panel[]) {
      for (const target of panel.targets ?? []) {
        for (const [name] of target.expr.matchAll(/\b(pa|nodejs|process)_[a-z0-9_]+/g)) queried.add(name);
      }
    }
    expect(queried.size).toBeGreaterThan(15);
    for (const name of queried) {
      const family = name.replace(/_(bucket|count|sum)$/, "");
      expect(exported.has(name) || exported.get(family)?.type === "histogram", name).toBe(true);
    }
    // And the other way round: a metric pa adds gets a panel, or it is seen by nobody.
    const queriedFamilies = new Set([...queried].map((name) => name.replace(/_(bucket|count|sum)$/, "")));
    const unqueried = [...exported.keys()].filter(
      (name) => name.startsWith("pa_") && !queriedFamilies.has(name),
    );
    expect(unqueried).toEqual([]);
  });
});
