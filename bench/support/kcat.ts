// The baseline of every scenario: Debian's kcat on the same broker and topic. Reading a topic to its
// end as fast as it can, following a topic live with each record's arrival timestamped, and sitting
// idle on a topic for its memory and threads.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { type Children, exited, terminate } from "./children.js";
import { exitedChildrenCpuSeconds, type ProcStatus, procStatus } from "./proc.js";

export interface KcatDrain {
  count: number;
  /** From spawning kcat to its exit at the end of the topic. */
  wallMs: number;
  /** kcat's own user+system CPU seconds. */
  cpuSeconds: number;
}

function start(brokers: string, args: string[], children: Children): ChildProcess {
  const child = spawn("kcat", ["-b", brokers, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-4000);
  });
  child.once("exit", (code, signal) => {
    if (code !== 0 && signal === null) process.stderr.write(`kcat exited with ${code}: ${stderr}\n`);
  });
  return children.add(child);
}

/** `kcat -C -o beginning -e`: reads the whole topic, counting records (one line each), and exits. */
export async function kcatDrain(brokers: string, topic: string, children: Children): Promise<KcatDrain> {
  const cpuBefore = exitedChildrenCpuSeconds();
  const started = performance.now();
  const child = start(brokers, ["-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\\n"], children);
  let count = 0;
  child.stdout?.on("data", (chunk: Buffer) => {
    let at = chunk.indexOf(10);
    while (at !== -1) {
      count++;
      at = chunk.indexOf(10, at + 1);
    }
  });
  const code = await exited(child);
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`kcat could not read ${topic} (exit ${code})`);
  // Node has reaped kcat by the time "exit" fired, so its CPU time is in this process's children.
  return { count, wallMs, cpuSeconds: exitedChildrenCpuSeconds() - cpuBefore };
}

/** A live `kcat -C -u -o end -f '%k\n'`: calls onKey with each record's key and arrival time. */
export class KcatFollower {
  private constructor(private readonly child: ChildProcess) {}

  static start(
    brokers: string,
    topic: string,
    children: Children,
    onKey: (key: string, arrivalMs: number) => void,
  ): KcatFollower {
    const child = start(brokers, ["-C", "-u", "-q", "-t", topic, "-o", "end", "-f", "%k\\n"], children);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => onKey(line, performance.now()));
    return new KcatFollower(child);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  status(): ProcStatus {
    return procStatus(this.pid);
  }

  async stop(): Promise<void> {
    await terminate(this.child, 5_000);
  }
}
