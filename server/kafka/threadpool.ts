// librdkafka's consume calls wait for records on libuv's threadpool: each pooled consumer, the
// group membership and every active catch-up reader holds one pool thread while it waits. Node's
// default pool has 4 threads, so a few waiting readers would leave file system, DNS and zlib work
// (and the remaining readers) queued behind them. The pool's size is fixed when Node first uses
// it, before pa's code runs, so it can only come from the environment: pa's launchers (npm
// scripts, the Docker image, the dev and bench runners) set UV_THREADPOOL_SIZE, and pa warns at
// start-up when a launcher of the user's own did not.
import type { Config } from "../config/config.js";

/** Threads kept free for everything that is not a waiting Kafka read. */
const OTHER_WORK_THREADS = 4;

export function threadpoolThreadsNeeded(config: Config): number {
  const membership = config.kafka.shareProcessing && config.kafka.pinnedTopics.length > 0 ? 1 : 0;
  return config.kafka.consumerPoolSize + membership + config.streams.maxCatchUpReaders + OTHER_WORK_THREADS;
}

/** A warning naming the setting when the threadpool is smaller than pa's readers need. */
export function threadpoolWarning(config: Config, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const needed = threadpoolThreadsNeeded(config);
  const size = Number(env.UV_THREADPOOL_SIZE) || 4;
  if (size >= needed) return undefined;
  return `libuv's threadpool has ${size} threads but pa's Kafka readers may hold up to ${needed - OTHER_WORK_THREADS} of them while they wait; start pa with UV_THREADPOOL_SIZE=${needed} or more (npm start and the Docker image do)`;
}
