// Readings from /proc: a process's resident memory, thread count and CPU time. Linux only, as is
// the machine the benchmarks are meant for.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface ProcStatus {
  rssBytes: number;
  threads: number;
}

/** VmRSS and Threads from /proc/<pid>/status. */
export function procStatus(pid: number): ProcStatus {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text);
    if (!match) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(match[1]);
  };
  return { rssBytes: field("VmRSS") * 1024, threads: field("Threads") };
}

/** The kernel's unit for CPU times in /proc (100 on every common Linux). */
export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

// Fields of /proc/<pid>/stat after the command name, which may itself contain spaces: index 0 is
// field 3 (state), so field n is at n - 3.
function statFields(pid: number | "self"): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

/** User plus system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** CPU seconds of this process's children that have exited and been waited for. */
export function exitedChildrenCpuSeconds(): number {
  const fields = statFields("self");
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

/** Measures a process's CPU use over a span: the share of one core it used. */
export class CpuMeter {
  private readonly startCpu: number;
  private readonly startWall = performance.now();

  constructor(private readonly pid: number) {
    this.startCpu = cpuSeconds(pid);
  }

  /** Share of one core since the meter was made (1 = one core fully busy). */
  read(): { seconds: number; coreShare: number } {
    const seconds = cpuSeconds(this.pid) - this.startCpu;
    const wallSeconds = (performance.now() - this.startWall) / 1000;
    return { seconds, coreShare: wallSeconds > 0 ? seconds / wallSeconds : 0 };
  }
}
