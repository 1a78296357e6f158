// A deliberately slow StreamPayments client: a native gRPC call over its own HTTP/2 connection
// that takes one chunk of data every `pauseMs`, so HTTP/2 flow control holds pa's writes back. Its
// local port is what pa reports as its peer address.
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { StreamRequestSchema } from "../../gen/payment/payment_pb.js";
import { frameMessage } from "../../server/streaming/event-frames.js";

/** A native gRPC StreamPayments call that takes one chunk of data every `pauseMs`. */
export function slowReader(baseUrl: string, topic: string, pauseMs: number) {
  const session = http2.connect(baseUrl);
  const frame = frameMessage(
    toBinary(StreamRequestSchema, create(StreamRequestSchema, { topic, existingLimit: 0 })),
  );
  const stream = session.request({
    ":method": "POST",
    ":path": "/payment.PaymentService/StreamPayments",
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.end(frame);
  stream.on("data", () => {
    stream.pause();
    setTimeout(() => stream.resume(), pauseMs).unref();
  });
  stream.on("error", () => {});
  return {
    localPort: () => (session.socket as { localPort?: number }).localPort,
    close: () => {
      stream.close();
      session.close();
    },
  };
}
