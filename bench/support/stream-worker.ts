// One worker thread of the fan-out benchmark's client: it opens its share of the streams on its
// own HTTP/2 connections, decodes every event as a real client would, and reports each arrival
// (payment id, partition, absolute time) to the benchmark's main thread in small batches. Spread
// over threads, the client decodes 50,000 events/s without its own event loop being the latency.
import { parentPort, workerData } from "node:worker_threads";
import { StreamStart } from "../../gen/payment/payment_pb.js";
import { followStream, PaConnections } from "./client.js";

export interface StreamWorkerData {
  baseUrl: string;
  topic: string;
  /** Global indexes of the streams this worker opens. */
  streams: number[];
  connections: number;
  /** The CEL filter of each of those streams (same order); absent: unfiltered streams. */
  filters?: string[];
}

/** Arrivals since the last report, in parallel arrays. */
export interface ArrivalBatch {
  kind: "arrivals";
  streams: number[];
  ids: string[];
  partitions: number[];
  /** performance.timeOrigin + performance.now() at arrival: comparable across threads. */
  times: number[];
}

export type WorkerMessage = ArrivalBatch | { kind: "error"; message: string } | { kind: "closed" };

const REPORT_EVERY_MS = 20;

if (parentPort) {
  const port = parentPort;
  const data = workerData as StreamWorkerData;
  const connections = new PaConnections(data.baseUrl, data.connections);
  const abort = new AbortController();
  let batch: ArrivalBatch = { kind: "arrivals", streams: [], ids: [], partitions: [], times: [] };
  const flush = () => {
    if (batch.ids.length === 0) return;
    port.postMessage(batch);
    batch = { kind: "arrivals", streams: [], ids: [], partitions: [], times: [] };
  };
  const timer = setInterval(flush, REPORT_EVERY_MS);
  const running = data.streams.map((stream, i) =>
    followStream(
      connections.client(i),
      {
        topic: data.topic,
        existingLimit: 0,
        startPosition: { case: "start", value: StreamStart.LATEST },
        ...(data.filters ? { filter: data.filters[i] ?? "" } : {}),
      },
      abort.signal,
      (event) => {
        batch.streams.push(stream);
        batch.ids.push(event.payment?.id ?? "");
        batch.partitions.push(event.partition);
        batch.times.push(performance.timeOrigin + performance.now());
      },
    ).catch((error: unknown) => port.postMessage({ kind: "error", message: String(error) })),
  );
  port.on("message", async () => {
    abort.abort();
    await Promise.all(running);
    clearInterval(timer);
    flush();
    connections.close();
    port.postMessage({ kind: "closed" });
    port.close();
  });
}
