// The child processes a benchmark run started (pa, kcat), so that an interrupted run still stops
// every one of them and leaves nothing behind.
import type { ChildProcess } from "node:child_process";

export class Children {
  private readonly running = new Set<ChildProcess>();

  /** Tracks a child until it exits. */
  add<T extends ChildProcess>(child: T): T {
    this.running.add(child);
    child.once("exit", () => this.running.delete(child));
    return child;
  }

  /** Sends a signal to every child still running (each by its own pid). */
  signalAll(signal: NodeJS.Signals): void {
    for (const child of this.running) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    }
  }

  get count(): number {
    return this.running.size;
  }
}

/** Resolves with the exit code (or signal) once the child has exited; at once if it already has. */
export function exited(child: ChildProcess): Promise<number | NodeJS.Signals> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)));
}

/** Stops a child with SIGTERM, then SIGKILL if it has not exited within the grace period. */
export async function terminate(child: ChildProcess, graceMs = 20_000): Promise<number | NodeJS.Signals> {
  const done = exited(child);
  if (child.exitCode !== null || child.signalCode !== null) return done;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  try {
    return await done;
  } finally {
    clearTimeout(timer);
  }
}
