// The benchmarks' lean gRPC client for StreamPayments: node:http2 directly, no client framework.
// It only splits the response into its length-prefixed messages and reads the call's status from
// the trailers; what a message means is left to the caller (decoded in worker threads: see
// stream-client.ts). Measured against pa, connect-node's client read one stream at 19,500 msg/s
// with every event decoded on the thread that reads the socket, while a client that only splits
// frames read 31,000 msg/s: the benchmark measured its own client.
import http2 from "node:http2";
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { PaymentService, StreamRequestSchema } from "../../gen/payment/payment_pb.js";

// Node's default HTTP/2 receive window is 64 KiB per stream and per connection: pa may send that
// much and must then wait a round trip for the client's WINDOW_UPDATE, so a client whose event
// loop is busy for a moment stalls pa's writes and the benchmark measures the client's loop. With
// 16 MiB per stream (about 80,000 events) and 64 MiB per connection, pa writes as fast as it can;
// flow control still bounds what one connection can hold in the client.
const STREAM_WINDOW_BYTES = 16 * 2 ** 20;
const CONNECTION_WINDOW_BYTES = 64 * 2 ** 20;

export type StreamRequestInit = MessageInitShape<typeof StreamRequestSchema>;

const STREAM_PAYMENTS_PATH = `/${PaymentService.typeName}/${PaymentService.method.streamPayments.name}`;
const FRAME_HEADER_BYTES = 5;

/** One HTTP/2 connection to pa, with receive windows large enough not to throttle pa. */
export class GrpcConnection {
  readonly session: http2.ClientHttp2Session;
  /** Resolves once connected (calls may be made before: they wait); rejects if it fails. */
  readonly connected: Promise<void>;

  constructor(baseUrl: string) {
    this.session = http2.connect(baseUrl, { settings: { initialWindowSize: STREAM_WINDOW_BYTES } });
    this.connected = new Promise((resolve, reject) => {
      // The connection window is not a setting: it grows by a WINDOW_UPDATE, sent once connected.
      this.session.once("connect", (session: http2.ClientHttp2Session) => {
        session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
        resolve();
      });
      // A failed connection also fails each call on it (its stream emits the error).
      this.session.on("error", reject);
    });
    // Whoever does not wait for `connected` learns of a failure from its calls.
    this.connected.catch(() => {});
  }

  close(): void {
    this.session.destroy();
  }
}

/**
 * Splits a gRPC message stream (each message: a compressed flag, a 4-byte big-endian length, the
 * bytes) into messages, across the chunks it arrives in. A message inside one chunk is handed on
 * as a view of that chunk, without a copy; only one that spans chunks is assembled.
 */
export class GrpcFrameSplitter {
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFill = 0;
  /** The message being assembled across chunks, once its header is complete. */
  private partial: Uint8Array | undefined;
  private partialFill = 0;

  /** Calls onMessage with each message the chunk completes; the view is valid during the call only. */
  push(chunk: Uint8Array, onMessage: (message: Uint8Array) => void): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.partial) {
        const take = Math.min(this.partial.length - this.partialFill, chunk.length - at);
        this.partial.set(chunk.subarray(at, at + take), this.partialFill);
        this.partialFill += take;
        at += take;
        if (this.partialFill === this.partial.length) {
          const message = this.partial;
          this.partial = undefined;
          onMessage(message);
        }
        continue;
      }
      if (this.headerFill === 0 && chunk.length - at >= FRAME_HEADER_BYTES) {
        const length = frameLength(chunk, at);
        const start = at + FRAME_HEADER_BYTES;
        if (chunk.length - start >= length) {
          at = start + length;
          onMessage(chunk.subarray(start, at));
          continue;
        }
        this.startPartial(length);
        at = start;
        continue;
      }
      const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, chunk.length - at);
      this.header.set(chunk.subarray(at, at + take), this.headerFill);
      this.headerFill += take;
      at += take;
      if (this.headerFill === FRAME_HEADER_BYTES) {
        this.headerFill = 0;
        const length = frameLength(this.header, 0);
        if (length === 0) onMessage(new Uint8Array(0));
        else this.startPartial(length);
      }
    }
  }

  /** Whether the stream so far ended on a message boundary. */
  get atBoundary(): boolean {
    return this.headerFill === 0 && this.partial === undefined;
  }

  private startPartial(length: number): void {
    this.partial = new Uint8Array(length);
    this.partialFill = 0;
  }
}

function frameLength(bytes: Uint8Array, at: number): number {
  if (bytes[at] !== 0) {
    // The call never offers a compression (no grpc-accept-encoding), so pa must not use one.
    throw new ConnectError("pa sent a compressed message without being offered compression", Code.Internal);
  }
  return (
    (((bytes[at + 1] as number) << 24) |
      ((bytes[at + 2] as number) << 16) |
      ((bytes[at + 3] as number) << 8) |
      (bytes[at + 4] as number)) >>>
    0
  );
}

// grpc-message is percent-encoded; a malformed one is shown as sent rather than lost.
function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The call's status from its trailers (or the headers of a trailers-only answer); undefined: OK. */
function statusError(fields: http2.IncomingHttpHeaders): ConnectError | undefined {
  const status = Number(fields["grpc-status"]);
  if (status === 0) return undefined;
  const raw = fields["grpc-message"];
  const message = typeof raw === "string" ? percentDecoded(raw) : "";
  const code = Number.isInteger(status) && status > 0 && status <= 16 ? (status as Code) : Code.Unknown;
  return new ConnectError(message, code);
}

/**
 * One StreamPayments call: calls onMessage with each response message's bytes (the view is valid
 * during the call only) and the time its last byte arrived (performance.now(), taken once per
 * chunk). Resolves when the call ends with status OK or when `signal` aborts (a normal end here);
 * rejects with a ConnectError carrying the call's grpc-status and grpc-message otherwise.
 */
export function readStreamPayments(
  connection: GrpcConnection,
  request: StreamRequestInit,
  signal: AbortSignal,
  onMessage: (message: Uint8Array, arrivalMs: number) => void,
): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  const body = toBinary(StreamRequestSchema, create(StreamRequestSchema, request));
  const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  new DataView(frame.buffer).setUint32(1, body.length);
  frame.set(body, FRAME_HEADER_BYTES);

  return new Promise<void>((resolve, reject) => {
    const stream = connection.session.request({
      ":method": "POST",
      ":path": STREAM_PAYMENTS_PATH,
      "content-type": "application/grpc+proto",
      te: "trailers",
    });
    const splitter = new GrpcFrameSplitter();
    let outcome: ConnectError | undefined;
    let sawStatus = false;
    const fail = (error: ConnectError) => {
      outcome ??= error;
      stream.close(http2.constants.NGHTTP2_CANCEL);
    };
    const onAbort = () => stream.close(http2.constants.NGHTTP2_CANCEL);
    signal.addEventListener("abort", onAbort, { once: true });

    stream.on("response", (headers) => {
      const httpStatus = headers[":status"];
      if (httpStatus !== 200) {
        fail(new ConnectError(`pa answered HTTP ${httpStatus} to StreamPayments`, Code.Unknown));
        return;
      }
      if (headers["grpc-status"] !== undefined) {
        sawStatus = true;
        outcome ??= statusError(headers);
      }
    });
    stream.on("data", (chunk: Buffer) => {
      if (outcome) return;
      const arrivalMs = performance.now();
      try {
        splitter.push(chunk, (message) => onMessage(message, arrivalMs));
      } catch (error) {
        fail(ConnectError.from(error));
      }
    });
    stream.on("trailers", (trailers) => {
      sawStatus = true;
      outcome ??= statusError(trailers);
    });
    stream.on("error", (error) => {
      outcome ??= ConnectError.from(error, Code.Unavailable);
    });
    stream.on("close", () => {
      signal.removeEventListener("abort", onAbort);
      if (outcome) return reject(outcome);
      if (signal.aborted) return resolve();
      if (!sawStatus) {
        return reject(
          new ConnectError(
            `StreamPayments ended without a grpc-status (HTTP/2 code ${stream.rstCode})`,
            Code.Internal,
          ),
        );
      }
      if (!splitter.atBoundary) {
        return reject(new ConnectError("StreamPayments ended inside a message", Code.Internal));
      }
      resolve();
    });
    stream.end(frame);
  });
}
