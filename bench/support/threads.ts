// pa's CPU time per thread group, from /proc/<pid>/task/*/stat. Node 20 names none of its own
// threads (every one is "node"), so they are told apart by what the process is known to start, in
// this order: the main thread (tid = pid); V8's platform, a delayed-task scheduler and then
// V8_POOL_SIZE workers that run GC helper tasks (and concurrent compilation); node's idle
// debug-signal thread; the libuv threadpool (UV_THREADPOOL_SIZE threads, all at once); Node worker
// threads (the store's SQLite checkpointer and writer). While idle,
// an event-loop thread (the main one, the scheduler, a worker) waits in epoll and a pool thread on
// a futex (/proc/<pid>/task/<tid>/syscall), which tells workers from pool threads. librdkafka
// names its threads "rdk:main", "rdk:broker...", "rdk:bg".
import { readdirSync, readFileSync } from "node:fs";
import { CLOCK_TICKS } from "./proc.js";

/** V8 platform workers node starts (its --v8-pool-size default; pa-process passes it explicitly). */
export const V8_POOL_SIZE = 4;

export const THREAD_GROUPS = [
  "main",
  "view's SQLite writer",
  "other workers",
  "V8 platform (GC helpers)",
  "librdkafka",
  "libuv threadpool",
  "other",
] as const;

export type ThreadGroup = (typeof THREAD_GROUPS)[number];

interface ThreadReading {
  comm: string;
  /** user + system CPU seconds. */
  cpuSeconds: number;
  /** Syscall number it waits in (idle), or undefined while running or when unreadable. */
  syscall: number | undefined;
}

// x86_64 and aarch64 numbers of the calls an idle event loop waits in.
const EPOLL_CALLS = new Set([232, 281, 22]);

function readThreads(pid: number): Map<number, ThreadReading> {
  const threads = new Map<number, ThreadReading>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      let syscall: number | undefined;
      try {
        const first = readFileSync(`/proc/${pid}/task/${tid}/syscall`, "utf8").split(" ")[0] ?? "";
        syscall = /^\d+$/.test(first) ? Number(first) : undefined;
      } catch {
        syscall = undefined;
      }
      threads.set(Number(tid), {
        comm,
        cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
        syscall,
      });
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  return threads;
}

/**
 * Classifies pa's threads from a reading taken while pa is idle (after start-up, after a run), by
 * the start-up order above; the writer is the store's last worker (started after the checkpointer).
 */
function classify(pid: number, threads: Map<number, ThreadReading>, uvThreadpoolSize: number) {
  const groups = new Map<number, ThreadGroup>();
  const unnamed: number[] = [];
  for (const [tid, thread] of threads) {
    if (tid === pid) groups.set(tid, "main");
    else if (thread.comm.startsWith("rdk:")) groups.set(tid, "librdkafka");
    else unnamed.push(tid);
  }
  unnamed.sort((a, b) => a - b);
  const platform = unnamed.slice(0, 1 + V8_POOL_SIZE);
  for (const tid of platform) groups.set(tid, "V8 platform (GC helpers)");
  const rest = unnamed.slice(platform.length);
  const loops = rest.filter((tid) => EPOLL_CALLS.has(threads.get(tid)?.syscall ?? -1));
  const pool = rest.filter((tid) => !loops.includes(tid));
  for (const [i, tid] of pool.entries()) {
    groups.set(tid, i >= pool.length - uvThreadpoolSize ? "libuv threadpool" : "other");
  }
  for (const [i, tid] of loops.entries()) {
    groups.set(tid, i === loops.length - 1 ? "view's SQLite writer" : "other workers");
  }
  return groups;
}

export interface GroupCpu {
  group: ThreadGroup;
  threads: number;
  seconds: number;
}

/**
 * CPU seconds per thread group of a process over a span. Make it while pa is idle (its threads are
 * classified then). A thread that exited during the span takes its CPU time with it.
 */
export class ThreadGroupMeter {
  private readonly start: Map<number, ThreadReading>;
  private readonly groups: Map<number, ThreadGroup>;

  constructor(
    private readonly pid: number,
    uvThreadpoolSize: number,
  ) {
    this.start = readThreads(pid);
    this.groups = classify(pid, this.start, uvThreadpoolSize);
  }

  read(): GroupCpu[] {
    const now = readThreads(this.pid);
    const totals = new Map<ThreadGroup, GroupCpu>(
      THREAD_GROUPS.map((group) => [group, { group, threads: 0, seconds: 0 }]),
    );
    for (const [tid, thread] of now) {
      // Threads started during the span: a consumer's librdkafka threads, or anything else.
      const group = this.groups.get(tid) ?? (thread.comm.startsWith("rdk:") ? "librdkafka" : "other");
      const total = totals.get(group) as GroupCpu;
      total.threads++;
      total.seconds += thread.cpuSeconds - (this.start.get(tid)?.cpuSeconds ?? 0);
    }
    return [...totals.values()];
  }
}
