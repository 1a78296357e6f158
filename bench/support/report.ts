// The run's one markdown table (printed, and written to bench/results/latest.md for the README),
// with the command that made it, the machine it ran on, and the Go PoC's figures quoted beside it.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { REPO_ROOT } from "./pa-process.js";
import type { Row } from "./scenario.js";

export interface ScenarioOutcome {
  name: string;
  title: string;
  rows: Row[];
  notes: string[];
  /** Set when the scenario failed (events lost, pa or Kafka error): the run exits non-zero. */
  failure?: string;
  seconds: number;
}

export interface RunMeta {
  command: string;
  startedAt: Date;
  brokers: string;
  /** Free text about the conditions, e.g. "machine shared with an integration-test run". */
  note: string | undefined;
  /** The 1-minute load average when the run started and when it ended. */
  loadAverages: [number, number];
  /** The pa checkout measured, when not this one. */
  paDir: string | undefined;
}

// The Go PoC, measured on this machine before pa existed (from the issue): quoted, not re-measured.
const GO_POC_FIGURES = [
  "one consumer per topic in one consumer group, with a blocking commit after every message",
  "~2,200 msg/s to one fast client, while kcat read the same topic at ~300,000 msg/s",
  "a per-subscriber buffer of 10 events that drops on overflow: 0.6% of events lost by a fast client, 53-61% by a client taking 1 ms per event",
  "a 1 µs poll loop that burns a core while idle",
  "RSS up to 430 MB",
];

function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

function kafkaVersion(): string {
  try {
    const pom = readFileSync(`${REPO_ROOT}/scripts/kafka/pom.xml`, "utf8");
    return /<kafka.version>([^<]+)<\/kafka.version>/.exec(pom)?.[1] ?? "?";
  } catch {
    return "?";
  }
}

function kcatVersion(): string {
  try {
    const text = execFileSync("kcat", ["-V"], { encoding: "utf8" });
    const kcat = /Version ([\d.]+)/.exec(text)?.[1] ?? "?";
    const librdkafka = /librdkafka ([\d.]+)/.exec(text)?.[1];
    return librdkafka ? `${kcat} (librdkafka ${librdkafka})` : kcat;
  } catch {
    return "?";
  }
}

export function renderReport(outcomes: ScenarioOutcome[], meta: RunMeta): string {
  const cpus = os.cpus();
  const lines = [
    "## pa benchmarks",
    "",
    `Made by \`${meta.command}\` on ${meta.startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC: ` +
      `${cpus.length} × ${cpus[0]?.model.trim() ?? "CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GB, ` +
      `Node ${process.version}, Apache Kafka ${kafkaVersion()} (one local broker at ${meta.brokers}, on the same machine). ` +
      "pa runs as its own process with its default embedded store (no DATABASE_URL, a fresh DATA_DIR each time). " +
      `Baseline: Debian's kcat ${kcatVersion()} on the same broker and topics, in the same run.`,
    "",
    `Load average (1 min) on the ${cpus.length} cores: ${meta.loadAverages[0].toFixed(1)} at the start, ${meta.loadAverages[1].toFixed(1)} at the end` +
      " (above the core count, other work competed with the broker, pa and the clients).",
    ...(meta.paDir ? ["", `pa measured from ${meta.paDir}, not this checkout.`] : []),
    ...(meta.note ? ["", `Conditions: ${meta.note}`] : []),
    "",
    "| scenario | measure | pa | kcat (same run) | pa vs kcat | target | met |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const outcome of outcomes) {
    if (outcome.failure) {
      lines.push(
        `| ${outcome.name} | **FAILED** | ${cell(outcome.failure.split("\n")[0] ?? "")} | | | | ✗ |`,
      );
    }
    for (const row of outcome.rows) {
      const met = row.met === undefined ? "" : row.met ? "✓" : "✗";
      lines.push(
        `| ${outcome.name} | ${cell(row.measure)} | ${cell(row.pa)} | ${cell(row.baseline)} | ${cell(row.comparison ?? "")} | ${cell(row.target ?? "")} | ${met} |`,
      );
    }
  }
  const notes = outcomes.flatMap((o) => o.notes);
  if (notes.length > 0) lines.push("", ...notes.map((note) => `- ${note}`));
  lines.push(
    "",
    "Targets are printed, never asserted; a scenario fails only when events are lost, repeated or out of order.",
    "",
    "For comparison, the Go PoC (quoted from the issue, measured earlier on this machine; not measured in this run):",
    "",
    ...GO_POC_FIGURES.map((figure) => `- ${figure}`),
    "",
  );
  return lines.join("\n");
}
