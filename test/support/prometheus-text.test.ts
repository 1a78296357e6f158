import { describe, expect, it } from "vitest";
import { parsePrometheusText, sampleValue } from "./prometheus-text.js";

describe("the test's Prometheus text parser", () => {
  it("reads families, labels with escapes, and histograms", () => {
    const families = parsePrometheusText(
      [
        "# HELP a_total Things.",
        "# TYPE a_total counter",
        'a_total{topic="x\\"y",error="e"} 3',
        "# TYPE h histogram",
        'h_bucket{le="1"} 1',
        'h_bucket{le="+Inf"} 2',
        "h_sum 1.5",
        "h_count 2",
        "",
      ].join("\n"),
    );
    expect(sampleValue(families, "a_total", { topic: 'x"y', error: "e" })).toBe(3);
    expect(sampleValue(families, "h_count")).toBe(2);
    expect(families.get("a_total")?.help).toBe("Things.");
  });

  it("refuses what Prometheus would not take", () => {
    expect(() => parsePrometheusText("a 1\n")).toThrow(/no # TYPE line/);
    expect(() => parsePrometheusText("# TYPE a gauge\na one\n")).toThrow(/not a sample value/);
    expect(() => parsePrometheusText("# TYPE a gauge\na 1\na 2\n")).toThrow(/appears twice/);
    expect(() => parsePrometheusText("# TYPE a gauge\na{l=x} 1\n")).toThrow(/not quoted/);
    expect(() =>
      parsePrometheusText('# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'),
    ).toThrow(/does not equal _count/);
    expect(() => parsePrometheusText("# TYPE a gauge\na 1")).toThrow(/newline/);
  });
});
