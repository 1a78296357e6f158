// What every scenario receives and returns. A scenario prints its figures as it goes and returns
// them as table rows, each beside the kcat baseline measured in the same run on the same broker.

import type { Children } from "./children.js";
import type { BenchKafka } from "./kafka.js";
import type { PaOptions } from "./pa-process.js";

export interface Sizes {
  /** throughput: payments preloaded and read back. */
  messages: number;
  /** latency: produce rate (msg/s). */
  rate: number;
  /** latency and fan-out: how long to produce (s). */
  seconds: number;
  /** fan-out: concurrent streams, HTTP/2 connections they share, produce rate (msg/s). */
  streams: number;
  connections: number;
  fanOutRate: number;
  /** topics: active topics, one stream each. */
  topics: number;
  /** store: payments stored on each engine, and timed calls per query kind (scenario defaults when unset). */
  rows?: number;
  queries?: number;
  /** dlq: poison records dead-lettered, then listed through the admin service. */
  letters: number;
  /** fuzz: random and mutated requests sent to pa. */
  requests: number;
}

export interface BenchContext {
  brokers: string;
  /** Unique per run: in topic and consumer group names, so runs never meet. */
  runId: string;
  kafka: BenchKafka;
  children: Children;
  sizes: Sizes;
  /** How every scenario starts pa: the broker, profiling, which checkout. */
  pa: Pick<PaOptions, "brokers" | "children" | "cpuProfileDir" | "paDir">;
  log(line: string): void;
}

export interface Row {
  measure: string;
  pa: string;
  /** The same measure for kcat, or "" where kcat has no counterpart. */
  baseline: string;
  /** pa relative to kcat, e.g. "43% of kcat". */
  comparison?: string;
  target?: string;
  /** Whether pa meets the target; printed, never asserted. */
  met?: boolean;
}

export interface ScenarioResult {
  rows: Row[];
  /** Short remarks printed under the table (conditions, caveats). */
  notes?: string[];
}

export interface Scenario {
  name: string;
  title: string;
  run(context: BenchContext): Promise<ScenarioResult>;
}

/** Events were lost, duplicated or reordered: the run fails, whatever the timings. */
export class DeliveryError extends Error {
  override readonly name = "DeliveryError";
}
