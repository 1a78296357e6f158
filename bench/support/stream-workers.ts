// Runs the fan-out benchmark's streams in several worker threads (stream-worker.ts) and hands
// every arrival to the main thread's bookkeeping, with its time on the main thread's clock.
import type { Worker } from "node:worker_threads";
import type { StreamWorkerData, WorkerMessage } from "./stream-worker.js";
import { startTsWorker } from "./ts-worker.js";

export type ArrivalHandler = (stream: number, id: string, arrivalMs: number, partition: number) => void;

export class StreamWorkers {
  readonly errors: string[] = [];
  private readonly workers: Worker[];
  private readonly closed: Promise<void>[];

  constructor(
    options: {
      baseUrl: string;
      topic: string;
      streams: number;
      connections: number;
      threads: number;
      /** Stream i's CEL filter; absent: unfiltered streams. */
      filterFor?: (stream: number) => string;
    },
    onArrival: ArrivalHandler,
  ) {
    const threads = Math.max(1, Math.min(options.threads, options.streams));
    this.workers = [];
    this.closed = [];
    for (let t = 0; t < threads; t++) {
      const streams = Array.from({ length: options.streams }, (_, i) => i).filter((i) => i % threads === t);
      const data: StreamWorkerData = {
        baseUrl: options.baseUrl,
        topic: options.topic,
        streams,
        connections: Math.max(1, Math.round(options.connections / threads)),
        ...(options.filterFor ? { filters: streams.map(options.filterFor) } : {}),
      };
      const worker = startTsWorker(new URL("./stream-worker.ts", import.meta.url), { workerData: data });
      this.closed.push(
        new Promise((resolve) => {
          worker.on("message", (message: WorkerMessage) => {
            if (message.kind === "closed") return resolve();
            if (message.kind === "error") {
              this.errors.push(message.message);
              return;
            }
            const origin = performance.timeOrigin;
            for (let i = 0; i < message.ids.length; i++) {
              onArrival(
                message.streams[i] as number,
                message.ids[i] as string,
                (message.times[i] as number) - origin,
                message.partitions[i] as number,
              );
            }
          });
          worker.on("error", (error) => {
            this.errors.push(String(error));
            resolve();
          });
          worker.on("exit", () => resolve());
        }),
      );
      this.workers.push(worker);
    }
  }

  /** Ends every stream and waits for the last arrivals. */
  async stop(): Promise<void> {
    for (const worker of this.workers) worker.postMessage("stop");
    await Promise.all(this.closed);
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
