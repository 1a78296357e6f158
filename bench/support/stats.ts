// Percentiles and the few number formats the benchmark tables use.

export interface Distribution {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of the samples (sorted in place). */
export function distribution(samples: Float64Array): Distribution {
  if (samples.length === 0) return { count: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  samples.sort();
  const rank = (p: number) =>
    samples[Math.min(samples.length - 1, Math.ceil((p / 100) * samples.length) - 1)];
  return {
    count: samples.length,
    p50: rank(50) as number,
    p99: rank(99) as number,
    max: samples[samples.length - 1] as number,
  };
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  if (Math.abs(ms) < 10) return `${ms.toFixed(2)} ms`;
  if (Math.abs(ms) < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function formatRate(perSecond: number): string {
  return `${Math.round(perSecond).toLocaleString("en-US")} msg/s`;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(fraction < 0.1 ? 1 : 0)}%`;
}

/** "p50 / p99 / max" in one cell. */
export function formatDistribution(d: Distribution): string {
  return `${formatMs(d.p50)} / ${formatMs(d.p99)} / ${formatMs(d.max)}`;
}
