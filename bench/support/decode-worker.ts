// A decoding thread of the benchmark's stream client (stream-client.ts): it decodes batches of
// raw PaymentEvent messages with protobuf-es, as a real client would, and returns what the
// scenarios check (partition, offset, payment id), so the thread that reads the HTTP/2 stream
// only splits frames and pa, not the client's decoding, sets the pace.

import { parentPort } from "node:worker_threads";
import { fromBinary } from "@bufbuild/protobuf";
import { PaymentEventSchema } from "../../gen/payment/payment_pb.js";

/** Messages laid end to end in `bytes`; message i ends at ends[i]. Both buffers are transferred. */
export interface DecodeRequest {
  id: number;
  bytes: ArrayBuffer;
  ends: Uint32Array<ArrayBuffer>;
}

/** What each message of a batch carried, in its order. Typed arrays are transferred back. */
export interface DecodedBatch {
  id: number;
  partitions: Int32Array;
  offsets: Float64Array;
  paymentIds: string[];
}

/** The first message of a decoding thread says it has loaded; the others answer batches. */
export type DecodeReply = { ready: true } | DecodedBatch | { id: number; error: string };

if (parentPort) {
  const port = parentPort;
  port.on("message", ({ id, bytes, ends }: DecodeRequest) => {
    try {
      const view = new Uint8Array(bytes);
      const partitions = new Int32Array(ends.length);
      const offsets = new Float64Array(ends.length);
      const paymentIds = new Array<string>(ends.length);
      let start = 0;
      for (let i = 0; i < ends.length; i++) {
        const end = ends[i] as number;
        const event = fromBinary(PaymentEventSchema, view.subarray(start, end));
        partitions[i] = event.partition;
        offsets[i] = Number(event.offset);
        paymentIds[i] = event.payment?.id ?? "";
        start = end;
      }
      const reply: DecodedBatch = { id, partitions, offsets, paymentIds };
      port.postMessage(reply, [partitions.buffer, offsets.buffer]);
    } catch (error) {
      port.postMessage({
        id,
        error: `decoding a PaymentEvent failed: ${String(error)}`,
      } satisfies DecodeReply);
    }
  });
  port.postMessage({ ready: true } satisfies DecodeReply);
}
