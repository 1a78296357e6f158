// Live charts, refreshed once a second (not per event): events per second and amounts per currency
// over the last two minutes with uPlot (time series in a few kB, canvas drawing), and the status
// and provider mix of the kept rows as plain bars (uPlot draws time series, not shares).
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { providerName, statusName } from "../format/labels.js";
import type { LiveModel } from "../live/live-model.js";
import { useInterval } from "./use-model.js";

const WIDTH = 320;
const HEIGHT = 120;
const TOP_CURRENCIES = 4;
const COLOURS = ["#2f7de1", "#e1892f", "#2fae62", "#b04fd1", "#d13f4f"];

// Canvas text and lines cannot use CSS variables; they are read at each redraw (once a second), so
// a theme switch shows on the next tick.
const themeColour = (name: string) => () =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";

function TimeChart({ title, series, data }: { title: string; series: string[]; data: uPlot.AlignedData }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const key = series.join("|");
  useEffect(() => {
    if (!host.current) return;
    plot.current = new uPlot(
      {
        width: WIDTH,
        height: HEIGHT,
        legend: { show: series.length > 1 },
        axes: [
          { stroke: themeColour("--muted"), grid: { stroke: themeColour("--line") } },
          { stroke: themeColour("--muted"), grid: { stroke: themeColour("--line") }, size: 50 },
        ],
        series: [
          {},
          ...series.map((label, i) => ({ label, stroke: COLOURS[i % COLOURS.length], width: 1.5 })),
        ],
      },
      data,
      host.current,
    );
    return () => plot.current?.destroy();
  }, [key]);
  useEffect(() => plot.current?.setData(data), [data]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={host} />
    </figure>
  );
}

function Bars({ title, counts }: { title: string; counts: Map<string, number> }) {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return (
    <figure class="chart bars">
      <figcaption>{title}</figcaption>
      {[...counts.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([name, count]) => (
          <div key={name} class="bar">
            <span>{name}</span>
            <span class="track">
              <span class={`fill ${name}`} style={{ width: `${total ? (100 * count) / total : 0}%` }} />
            </span>
            <span class="num">{count.toLocaleString()}</span>
          </div>
        ))}
    </figure>
  );
}

export function Charts({ model }: { model: LiveModel }) {
  const [snapshot, setSnapshot] = useState(() => measure(model));
  useInterval(() => setSnapshot(measure(model)), 1000, [model]);
  return (
    <section class="charts" aria-label="Live charts">
      <TimeChart title="events per second" series={["events/s"]} data={snapshot.rate} />
      <TimeChart
        title="amounts per currency (major units per second)"
        series={snapshot.currencies}
        data={snapshot.amounts}
      />
      <Bars title="status mix (kept rows)" counts={snapshot.statuses} />
      <Bars title="provider mix (kept rows)" counts={snapshot.providers} />
    </section>
  );
}

function measure(model: LiveModel) {
  const seconds = model.recentSeconds();
  const times = seconds.map((s) => s.second);
  const totals = new Map<string, number>();
  for (const s of seconds) for (const [c, v] of s.amounts) totals.set(c, (totals.get(c) ?? 0) + v);
  const currencies = [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP_CURRENCIES)
    .map(([c]) => c)
    .sort();
  const statuses = new Map<string, number>();
  const providers = new Map<string, number>();
  for (const row of model.rows) {
    const payment = row.event.payment;
    if (!payment) continue;
    const status = statusName(payment.status);
    const provider = providerName(payment.provider);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    providers.set(provider, (providers.get(provider) ?? 0) + 1);
  }
  return {
    rate: [times, seconds.map((s) => s.events)] as uPlot.AlignedData,
    currencies,
    amounts: [
      times,
      ...currencies.map((c) => seconds.map((s) => s.amounts.get(c) ?? 0)),
    ] as uPlot.AlignedData,
    statuses,
    providers,
  };
}
