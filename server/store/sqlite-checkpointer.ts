// Copies the SQLite write-ahead log back into the database file from a worker thread. Left to
// SQLite, that checkpoint runs inside whichever commit crosses the WAL size threshold: on the event
// loop, writing and fsyncing thousands of pages while every RPC waits (measured: it halved write
// throughput). Here a second connection in a worker does it alongside; the writer's own automatic
// checkpoint stays on only as a backstop at a much larger WAL size, should the worker fall behind.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

export interface Checkpointer {
  stop(): Promise<void>;
}

// Plain CommonJS so that the worker runs the same way under node, tsx and vitest.
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
let timer;
let failing = false;
function checkpoint() {
  let behind = false;
  try {
    const [result] = db.pragma("wal_checkpoint(PASSIVE)");
    // Pages still to copy: the writer appended while this ran; go again soon.
    behind = result.log > result.checkpointed;
    if (failing) parentPort.postMessage({ error: null });
    failing = false;
  } catch (error) {
    failing = true;
    parentPort.postMessage({ error: String(error) });
  }
  timer = setTimeout(checkpoint, behind ? 10 : workerData.intervalMs);
}
timer = setTimeout(checkpoint, workerData.intervalMs);
parentPort.on("message", () => {
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Starts checkpointing `file` every `intervalMs` (sooner while the WAL keeps growing). `onStatus`
 * hears a failure's reason, and `undefined` once checkpoints succeed again.
 */
export function startCheckpointer(
  file: string,
  intervalMs: number,
  onStatus: (error: string | undefined) => void,
): Checkpointer {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(workerSource, { eval: true, workerData: { driver, file, intervalMs } });
  worker.on("message", (message: { error: string | null }) => onStatus(message.error ?? undefined));
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
