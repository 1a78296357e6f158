// The checkpointer thread's own code (sqlite-checkpointer.ts starts it and says why): a second
// connection that copies the WAL back into the database file, alongside the writer.
import type { MessagePort } from "node:worker_threads";
import Database from "better-sqlite3";
import { serveThread } from "../thread-module.js";
import type { CheckpointerOptions, CheckpointerStatus } from "./sqlite-checkpointer.js";

/** One row of `PRAGMA wal_checkpoint`: frames in the WAL, and how many of them were copied. */
interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

/** Checkpoints `options.file` until `port` brings a message (any: it means stop). */
function serveCheckpoints(port: MessagePort, options: CheckpointerOptions): void {
  const db = new Database(options.file, { fileMustExist: true });
  const status = (message: CheckpointerStatus) => port.postMessage(message);
  let failing = false;
  const checkpoint = () => {
    let behind = false;
    try {
      const [result] = db.pragma("wal_checkpoint(PASSIVE)") as CheckpointResult[];
      // Pages still to copy: the writer appended while this ran; go again soon.
      behind = result !== undefined && result.log > result.checkpointed;
      if (failing) status({ error: null });
      failing = false;
    } catch (error) {
      failing = true;
      status({ error: String(error) });
    }
    timer = setTimeout(checkpoint, behind ? 10 : options.intervalMs);
  };
  let timer = setTimeout(checkpoint, options.intervalMs);
  port.on("message", () => {
    clearTimeout(timer);
    db.close();
    port.close();
  });
}

serveThread("sqlite-checkpointer-thread", serveCheckpoints);
