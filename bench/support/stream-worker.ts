// One worker thread of the fan-out benchmark's client: it opens its share of the streams on its
// own HTTP/2 connections, read raw (grpc-stream-reader.ts), decodes every event as a real client
// would, and reports each arrival (payment id, partition, absolute time) to the benchmark's main
// thread in small batches. The streams are already spread over threads, so each thread decodes
// what it reads itself: handing the bytes on to other threads would only add a copy and a hop.
import { setMaxListeners } from "node:events";
import { parentPort, workerData } from "node:worker_threads";
import { fromBinary } from "@bufbuild/protobuf";
import { PaymentEventSchema, StreamStart } from "../../gen/payment/payment_pb.js";
import { GrpcConnection, readStreamPayments } from "./grpc-stream-reader.js";

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
  const connections = Array.from({ length: data.connections }, () => new GrpcConnection(data.baseUrl));
  const abort = new AbortController();
  // One signal ends every stream of this thread.
  setMaxListeners(0, abort.signal);
  let batch: ArrivalBatch = { kind: "arrivals", streams: [], ids: [], partitions: [], times: [] };
  const flush = () => {
    if (batch.ids.length === 0) return;
    port.postMessage(batch);
    batch = { kind: "arrivals", streams: [], ids: [], partitions: [], times: [] };
  };
  const timer = setInterval(flush, REPORT_EVERY_MS);
  const running = data.streams.map((stream, i) =>
    readStreamPayments(
      connections[i % connections.length] as GrpcConnection,
      {
        topic: data.topic,
        existingLimit: 0,
        startPosition: { case: "start", value: StreamStart.LATEST },
        ...(data.filters ? { filter: data.filters[i] ?? "" } : {}),
      },
      abort.signal,
      (message, arrivalMs) => {
        const event = fromBinary(PaymentEventSchema, message);
        batch.streams.push(stream);
        batch.ids.push(event.payment?.id ?? "");
        batch.partitions.push(event.partition);
        batch.times.push(performance.timeOrigin + arrivalMs);
      },
    ).catch((error: unknown) => port.postMessage({ kind: "error", message: String(error) })),
  );
  port.on("message", async () => {
    abort.abort();
    await Promise.all(running);
    clearInterval(timer);
    flush();
    for (const connection of connections) connection.close();
    port.postMessage({ kind: "closed" });
    port.close();
  });
}
