// Dashboard: the built dashboard in real headless Chromium (Debian's, via playwright-core) watches
// a topic served by pa while payments are produced at 5,000 msg/s (BENCH_DASHBOARD_RATE) for
// --seconds. Inside the page, every animation frame's interval and every long task
// (PerformanceObserver "longtask", > 50 ms of main-thread work) are recorded: first with the page
// idle on the live stream (the baseline of this machine and browser), then under load. kcat reads
// the same topic in the same run, so the table shows what the broker delivered beside what
// the page showed. Frame figures are printed, never asserted; the run fails only if the page
// shows fewer events than were produced.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Browser, chromium, type Page } from "playwright-core";
import { CHROMIUM_ARGS, chromiumPath } from "../scripts/lib/chromium.js";
import { createPaymentGenerator } from "../server/demo/payment-generator.js";
import { PARTITIONS } from "./support/kafka.js";
import { KcatFollower } from "./support/kcat.js";
import { PaProcess, REPO_ROOT } from "./support/pa-process.js";
import { type BenchContext, DeliveryError, type Scenario, type ScenarioResult } from "./support/scenario.js";
import { distribution, formatCount, formatMs, formatRate } from "./support/stats.js";

const IDLE_SECONDS = 3;
const STALL_MS = 15_000;
const DEFAULT_RATE = 5_000;

// Runs in the page (a string, so this Node-side file needs no DOM types): records frame intervals
// and long tasks from now on into window.__paBench, until read.
const START_MEASURING = `(() => {
  const m = { frames: [], longTasks: [], running: true };
  window.__paBench = m;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) m.longTasks.push(entry.duration);
  }).observe({ type: "longtask" });
  let last = performance.now();
  const tick = (now) => {
    m.frames.push(now - last);
    last = now;
    if (m.running) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})()`;
const STOP_MEASURING = `(() => {
  const m = window.__paBench;
  m.running = false;
  return { frames: m.frames, longTasks: m.longTasks };
})()`;

interface PageFigures {
  frames: number[];
  longTasks: number[];
}

interface TaskFigures {
  /** Main-thread tasks over 50 ms of wall time, and how many of them used 50 ms of CPU. */
  overBudgetWall: number;
  overBudgetCpu: number;
  longestWallMs: number;
  longestCpuMs: number;
}

interface TraceEvent {
  name: string;
  ph: string;
  tid: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

/**
 * The renderer main thread's tasks from a Chromium trace. A task's wall time (what long-task
 * entries report) includes time the OS gave the core to other processes; its thread time does not,
 * which tells the page's own work apart from a loaded machine.
 */
function mainThreadTasks(tracePath: string): TaskFigures {
  const trace = JSON.parse(readFileSync(tracePath, "utf8")) as { traceEvents: TraceEvent[] };
  const main = trace.traceEvents.find((e) => e.name === "thread_name" && e.args?.name === "CrRendererMain");
  const tasks = trace.traceEvents.filter((e) => e.tid === main?.tid && e.ph === "X" && e.name === "RunTask");
  // No tasks means the trace did not record them (a category changed), never "no work".
  if (tasks.length === 0)
    throw new Error(`the Chromium trace has no main-thread RunTask events (${tracePath})`);
  const wall = tasks.map((t) => (t.dur ?? 0) / 1000);
  const cpu = tasks.map((t) => (t.tdur ?? 0) / 1000);
  return {
    overBudgetWall: wall.filter((ms) => ms > 50).length,
    overBudgetCpu: cpu.filter((ms) => ms > 50).length,
    longestWallMs: Math.max(0, ...wall),
    longestCpuMs: Math.max(0, ...cpu),
  };
}

async function measure(
  browser: Browser,
  page: Page,
  during: () => Promise<void>,
): Promise<PageFigures & { tasks: TaskFigures }> {
  const tracePath = path.join(mkdtempSync(path.join(os.tmpdir(), "pa-bench-trace-")), "trace.json");
  await browser.startTracing(page, {
    path: tracePath,
    categories: ["devtools.timeline", "disabled-by-default-devtools.timeline"],
  });
  await page.evaluate(START_MEASURING);
  await during();
  const figures = (await page.evaluate(STOP_MEASURING)) as PageFigures;
  await browser.stopTracing();
  const tasks = mainThreadTasks(tracePath);
  rmSync(path.dirname(tracePath), { recursive: true, force: true });
  return { ...figures, tasks };
}

async function eventsShown(page: Page): Promise<number> {
  const text = (await page.locator("section.health").textContent()) ?? "";
  const match = /([\d,]+) events received/.exec(text);
  return match ? Number((match[1] as string).replaceAll(",", "")) : 0;
}

function summarize(figures: PageFigures & { tasks: TaskFigures }, seconds: number) {
  const frames = distribution(Float64Array.from(figures.frames));
  const longest = figures.longTasks.length > 0 ? Math.max(...figures.longTasks) : 0;
  const blocked = figures.longTasks.reduce((sum, ms) => sum + ms, 0);
  return {
    frames,
    fps: figures.frames.length / seconds,
    longTasks: figures.longTasks.length,
    longest,
    blocked,
    tasks: figures.tasks,
  };
}

export const dashboard: Scenario = {
  name: "dashboard",
  title: "the dashboard in headless Chromium at 5,000 events/s",
  async run(context: BenchContext): Promise<ScenarioResult> {
    const executablePath = chromiumPath();
    const rate = Number(process.env.BENCH_DASHBOARD_RATE ?? DEFAULT_RATE);
    if (!Number.isInteger(rate) || rate <= 0) {
      throw new Error(
        `BENCH_DASHBOARD_RATE must be a positive whole number, not ${process.env.BENCH_DASHBOARD_RATE}`,
      );
    }
    const { seconds } = context.sizes;
    const topic = `bench.dashboard.${context.runId}`;
    context.log("building web/dist");
    execFileSync(process.execPath, ["node_modules/vite/bin/vite.js", "build", "web", "--logLevel", "warn"], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "ignore", "inherit"],
    });
    await context.kafka.createTopics([topic]);
    const generator = createPaymentGenerator({ seed: 9 });
    const records = Array.from({ length: rate * seconds }, () => generator.valid());

    const pa = await PaProcess.start({ ...context.pa, groupId: `bench-${context.runId}-dashboard` });
    let browser: Browser | undefined;
    let kcatReceived = 0;
    const kcat = KcatFollower.start(context.brokers, topic, context.children, () => {
      kcatReceived++;
    });
    const producer = await context.kafka.rateProducer();
    try {
      browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      await page.goto(`${pa.baseUrl}/?topic=${encodeURIComponent(topic)}&start=latest`);
      await page.locator("header .state", { hasText: "live" }).waitFor({ timeout: 60_000 });
      // Warm up: one record per partition through pa and kcat before measuring.
      for (let partition = 0; partition < PARTITIONS; partition++) {
        await producer.sendOne(topic, generator.valid(), partition);
      }
      const warm = performance.now();
      while ((await eventsShown(page)) < PARTITIONS || kcatReceived < PARTITIONS) {
        if (performance.now() - warm > 60_000) throw new Error("the warm-up records never reached the page");
        await sleep(100);
      }
      const shownBefore = await eventsShown(page);
      const kcatBefore = kcatReceived;

      context.log(`page idle on the live stream for ${IDLE_SECONDS} s (baseline)`);
      const idle = summarize(await measure(browser, page, () => sleep(IDLE_SECONDS * 1000)), IDLE_SECONDS);

      context.log(`producing ${formatCount(records.length)} payments at ${formatRate(rate)}`);
      let achievedRate = 0;
      let busySeconds = 0;
      const loaded = await measure(browser, page, async () => {
        const started = performance.now();
        const run = await producer.run(topic, records, rate);
        achievedRate = run.achievedRate;
        // Until the page has shown every record (or nothing more arrives for STALL_MS).
        let last = -1;
        let lastChange = performance.now();
        for (;;) {
          const shown = (await eventsShown(page)) - shownBefore;
          if (shown >= records.length) break;
          if (shown !== last) {
            last = shown;
            lastChange = performance.now();
          } else if (performance.now() - lastChange > STALL_MS) break;
          await sleep(200);
        }
        busySeconds = (performance.now() - started) / 1000;
      });
      const load = summarize(loaded, busySeconds);
      const shown = (await eventsShown(page)) - shownBefore;
      const kcatShown = kcatReceived - kcatBefore;
      const rowsKept = await page.locator("p.counts").textContent();
      context.log(
        `page: ${formatCount(shown)} of ${formatCount(records.length)} events in ${busySeconds.toFixed(1)} s; ${rowsKept?.trim()}`,
      );
      context.log(
        `frames under load p50 / p99 / max ${formatMs(load.frames.p50)} / ${formatMs(load.frames.p99)} / ${formatMs(load.frames.max)} (${load.fps.toFixed(0)} fps); idle ${formatMs(idle.frames.p50)} / ${formatMs(idle.frames.p99)} / ${formatMs(idle.frames.max)}`,
      );
      context.log(
        `long tasks under load: ${load.longTasks} (longest ${formatMs(load.longest)}, ${formatMs(load.blocked)} in all); idle: ${idle.longTasks}`,
      );
      context.log(
        `main-thread tasks under load (trace): ${load.tasks.overBudgetWall} over 50 ms of wall time, ${load.tasks.overBudgetCpu} over 50 ms of CPU time; longest ${formatMs(load.tasks.longestWallMs)} wall, ${formatMs(load.tasks.longestCpuMs)} CPU`,
      );
      if (shown < records.length) {
        throw new DeliveryError(`the page showed ${shown} of ${records.length} events`);
      }
      const pageRate = shown / busySeconds;
      return {
        rows: [
          {
            measure: `events shown (${formatRate(achievedRate)} produced × ${seconds} s)`,
            pa: `${formatCount(shown)} at ${formatRate(pageRate)}`,
            baseline: `${formatCount(kcatShown)} (kcat)`,
            comparison: `${((100 * shown) / Math.max(kcatShown, 1)).toFixed(0)}% of kcat`,
          },
          {
            measure: "frame interval p50 / p99 / max, under load",
            pa: `${formatMs(load.frames.p50)} / ${formatMs(load.frames.p99)} / ${formatMs(load.frames.max)}`,
            baseline: `${formatMs(idle.frames.p50)} / ${formatMs(idle.frames.p99)} / ${formatMs(idle.frames.max)} (idle page)`,
            target: "p99 ≤ 50 ms",
            met: load.frames.p99 <= 50,
          },
          {
            measure: "long tasks (> 50 ms) under load",
            pa: `${load.longTasks}, longest ${formatMs(load.longest)}`,
            baseline: `${idle.longTasks} (idle page)`,
            target: "none over 50 ms",
            met: load.longTasks === 0,
          },
          {
            measure: "longest main-thread task under load: wall / CPU",
            pa: `${formatMs(load.tasks.longestWallMs)} / ${formatMs(load.tasks.longestCpuMs)} (${load.tasks.overBudgetCpu} tasks over 50 ms of CPU)`,
            baseline: `${formatMs(idle.tasks.longestWallMs)} / ${formatMs(idle.tasks.longestCpuMs)} (idle page)`,
            target: "no task over 50 ms of CPU",
            met: load.tasks.overBudgetCpu === 0,
          },
        ],
        notes: [
          "dashboard: frame intervals are requestAnimationFrame deltas and long tasks PerformanceObserver('longtask') entries, both measured inside headless Chromium (Debian's, software rendering); the idle figures are the same page on the same live stream before producing, in the same run. Long-task entries count wall time, so on a loaded machine they include time Chromium waited for a core; the trace's thread (CPU) time of the same tasks shows the page's own work.",
        ],
      };
    } finally {
      await browser?.close();
      await kcat.stop();
      await producer.disconnect();
      await pa.stop();
    }
  },
};
