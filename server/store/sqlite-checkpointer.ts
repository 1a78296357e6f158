// Copies the SQLite write-ahead log back into the database file from a worker thread. Left to
// SQLite, that checkpoint runs inside whichever commit crosses the WAL size threshold: on the event
// loop, writing and fsyncing thousands of pages while every RPC waits (measured: it halved write
// throughput). Here a second connection in a worker does it alongside; the writer's own automatic
// checkpoint stays on only as a backstop at a much larger WAL size, should the worker fall behind.
// The thread's code is sqlite-checkpointer-thread.ts.
import { startThreadModule } from "../thread-module.js";

export interface Checkpointer {
  stop(): Promise<void>;
}

/** What the checkpointer thread (sqlite-checkpointer-thread.ts) is started with (its workerData). */
export interface CheckpointerOptions {
  file: string;
  intervalMs: number;
}

/** What the thread says: a failure's reason, or null once checkpoints succeed again. */
export interface CheckpointerStatus {
  error: string | null;
}

/**
 * Starts checkpointing `file` every `intervalMs` (sooner while the WAL keeps growing). `onStatus`
 * hears a failure's reason, and `undefined` once checkpoints succeed again.
 */
export function startCheckpointer(
  file: string,
  intervalMs: number,
  onStatus: (error: string | undefined) => void,
): Checkpointer {
  const workerData: CheckpointerOptions = { file, intervalMs };
  const worker = startThreadModule(import.meta.url, "./sqlite-checkpointer-thread", { workerData });
  worker.on("message", (message: CheckpointerStatus) => onStatus(message.error ?? undefined));
  worker.on("error", (error) => onStatus(`checkpoint worker failed: ${error.message}`));
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  return {
    async stop() {
      // Referenced again while it winds down: awaiting an unreferenced worker's exit lets the
      // process end (exit code 13) when nothing else keeps it alive.
      worker.ref();
      worker.postMessage("stop");
      await exited;
    },
  };
}
