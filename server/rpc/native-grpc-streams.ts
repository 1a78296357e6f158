// StreamPayments for plain gRPC clients (grpc-js, grpc-go, connect-node's gRPC transport,
// grpcurl), written straight to the HTTP/2 stream. Connect's handler serializes every message
// again for every stream and passes it through a chain of async iterables; profiles put that at
// about half of pa's main thread. Here each event is encoded once for all streams, at fan-out
// (event-frames.ts), the stream's queue holds those frames, and whatever is queued goes out in one
// write. Everything else
// about the call (checks, limits, snapshot, subscription) is shared with Connect's handler through
// PaymentStreams, and errors become gRPC status trailers through the same toConnectError.
// Requests this path does not handle (compressed ones, gRPC-Web, Connect, JSON) go to Connect.
import type {
  Http2ServerRequest,
  Http2ServerResponse,
  IncomingHttpHeaders,
  ServerHttp2Stream,
} from "node:http2";
import { fromBinary } from "@bufbuild/protobuf";
import type { Validator } from "@bufbuild/protovalidate";
import { Code, ConnectError } from "@connectrpc/connect";
// Connect's own gRPC status and timeout codecs, so both paths speak exactly the same protocol.
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { PaymentService, StreamRequestSchema } from "../../gen/payment/payment_pb.js";
import type { Identity } from "../auth/identity.js";
import { callerKey } from "../limits/caller.js";
import type { RequestRate } from "../limits/request-rate.js";
import type { Logger } from "../observability/logger.js";
import type { CallEnd, RpcObserver } from "../observability/rpc-observer.js";
import { chunkOf, FRAME_HEADER_BYTES } from "../streaming/event-frames.js";
import type { PaymentEventEncoder } from "../streaming/payment-event-encoder.js";
import { FILTER_ERRORS_TRAILER, toConnectError } from "./error-mapping.js";
import { respecGrpcMessage } from "./grpc-message.js";
import type { PaymentStream, PaymentStreams } from "./payment-streams.js";

export interface NativeGrpcStreamsDependencies {
  streams: PaymentStreams;
  /** Encodes a stream's snapshot ("existing" events); live ones come encoded in its queue. */
  encoder: PaymentEventEncoder;
  logger: Logger;
  /** Who is calling (throws AuthenticationError), as Connect's authentication interceptor does. */
  authenticate: (request: Http2ServerRequest) => Promise<Identity>;
  /** Times and traces each call, as the Connect interceptor does for the other paths. */
  observer: RpcObserver;
  /** Why payment RPCs cannot be served right now (Kafka not connected yet), or undefined. */
  unavailableReason: () => string | undefined;
  /** The rules declared in the .proto (buf.validate), as the validate interceptor checks them. */
  validator: Validator;
  /** MAX_REQUEST_BYTES: the largest StreamRequest message accepted. */
  maxRequestBytes: number;
  /** MAX_REQUESTS_PER_SECOND, shared with Connect's calls. */
  rate: RequestRate;
}

const STREAM_PAYMENTS_PATH = `/${PaymentService.typeName}/${PaymentService.method.streamPayments.name}`;
const GRPC_PROTO_CONTENT_TYPE = /^application\/grpc(\+proto)?(;|$)/i;
// Events written at once when a stream's queue holds many (a client catching up).
const MAX_EVENTS_PER_WRITE = 512;
// gRPC's largest timeout is 8 digits of hours; node timers hold at most ~24.8 days.
const MAX_TIMEOUT_MS = 2_147_483_647;

export class NativeGrpcStreams {
  constructor(private readonly deps: NativeGrpcStreamsDependencies) {}

  /** Serves the call and returns true when it is a gRPC StreamPayments call this path handles. */
  handle(request: Http2ServerRequest, response: Http2ServerResponse): boolean {
    if (request.method !== "POST" || request.url !== STREAM_PAYMENTS_PATH) return false;
    const contentType = request.headers["content-type"] ?? "";
    if (!GRPC_PROTO_CONTENT_TYPE.test(contentType)) return false;
    const encoding = request.headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    new NativeStreamCall(this.deps, request, response, contentType).run();
    return true;
  }
}

class NativeStreamCall {
  private readonly stream: ServerHttp2Stream;
  private headersSent = false;
  private finished = false;
  private opened: PaymentStream | undefined;
  private deadlineError: ConnectError | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private readonly observed: CallEnd;

  constructor(
    private readonly deps: NativeGrpcStreamsDependencies,
    private readonly request: Http2ServerRequest,
    // Node's compatibility response owns the stream's trailers (it answers `wantTrailers` with
    // what addTrailers gave it); headers and data go to the stream directly.
    private readonly response: Http2ServerResponse,
    private readonly contentType: string,
  ) {
    this.stream = response.stream;
    this.observed = deps.observer.start({
      service: PaymentService.typeName,
      method: PaymentService.method.streamPayments.name,
      protocol: "grpc",
      header: (name) => {
        const value = request.headers[name];
        return Array.isArray(value) ? value[0] : value;
      },
    }).end;
  }

  run(): void {
    // The client went away (cancelled, reset, connection lost): release everything at once.
    this.stream.once("close", () => this.opened?.close());
    this.serve().then(
      () => this.finish(this.deadlineError),
      (error: unknown) => this.finish(toConnectError(error, this.deps.logger)),
    );
  }

  private async serve(): Promise<void> {
    this.startDeadline(this.request.headers);
    const identity = await this.deps.authenticate(this.request);
    const unavailable = this.deps.unavailableReason();
    if (unavailable) throw new ConnectError(unavailable, Code.Unavailable);
    const key = callerKey(identity, this.stream.session?.socket?.remoteAddress);
    await this.deps.rate.admit(key);
    const request = await this.readRequest();
    const checked = this.deps.validator.validate(StreamRequestSchema, request);
    if (checked.kind !== "valid") throw new ConnectError(checked.error.message, Code.InvalidArgument);
    const opened = await this.deps.streams.open(
      request,
      { connection: this.stream.session, key },
      identity,
      "frames",
    );
    this.opened = opened;
    if (this.stream.closed || this.deadlineError) {
      opened.close();
      return;
    }
    this.respond();
    if (opened.existing.length > 0) await this.write(chunkOf(this.deps.encoder, opened.existing));
    await this.pump(opened);
  }

  /** Writes the subscription's events as they come, in chunks, until it ends. */
  private async pump(opened: PaymentStream): Promise<void> {
    const { subscription } = opened;
    for (;;) {
      const taken = subscription.takeFrames(MAX_EVENTS_PER_WRITE);
      if (taken) {
        // write() hands the chunk to the stream before it waits for flow control: that moment is
        // when the events were written to this client.
        const written = this.write(taken.chunk);
        opened.sentFrames(taken);
        await written;
        continue;
      }
      const ending = subscription.ending;
      if (ending) {
        if (ending.error) throw ending.error;
        return;
      }
      await subscription.waitForEvents();
    }
  }

  private async readRequest() {
    const body = await this.readBody();
    if (body.byteLength < FRAME_HEADER_BYTES) {
      throw new ConnectError(
        "the request holds no gRPC message (expected one StreamRequest)",
        Code.InvalidArgument,
      );
    }
    const flags = body[0] ?? 0;
    const length = body.readUInt32BE(1);
    if (flags & 1) {
      throw new ConnectError(
        "the request message is marked compressed but no grpc-encoding was sent",
        Code.InvalidArgument,
      );
    }
    if (body.byteLength !== FRAME_HEADER_BYTES + length) {
      throw new ConnectError(
        "the request must hold exactly one StreamRequest message (StreamPayments is server-streaming)",
        Code.InvalidArgument,
      );
    }
    try {
      return fromBinary(StreamRequestSchema, body.subarray(FRAME_HEADER_BYTES));
    } catch (error) {
      throw new ConnectError(
        `the request is not a valid StreamRequest: ${String(error)}`,
        Code.InvalidArgument,
      );
    }
  }

  /**
   * The request body, refused with RESOURCE_EXHAUSTED as soon as its declared content-length, its
   * message's declared length or the bytes received pass MAX_REQUEST_BYTES: it is never read whole.
   */
  private readBody(): Promise<Buffer> {
    const { maxRequestBytes } = this.deps;
    const tooLarge = (what: string) =>
      new ConnectError(
        `the request ${what} more than ${maxRequestBytes} bytes (MAX_REQUEST_BYTES); a StreamRequest is far smaller`,
        Code.ResourceExhausted,
      );
    const maxBody = FRAME_HEADER_BYTES + maxRequestBytes;
    const declared = Number(this.request.headers["content-length"] ?? Number.NaN);
    if (declared > maxBody) return Promise.reject(tooLarge(`declares (content-length ${declared})`));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let messageBytes: number | undefined;
      const stop = () => {
        this.request.off("data", onData);
        this.request.off("end", onEnd);
        this.request.off("close", onClose);
        this.request.pause();
      };
      const onData = (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.byteLength;
        if (messageBytes === undefined && size >= FRAME_HEADER_BYTES) {
          messageBytes = Buffer.concat(chunks).readUInt32BE(1);
        }
        if (size > maxBody || (messageBytes ?? 0) > maxRequestBytes) {
          stop();
          reject(tooLarge(size > maxBody ? "holds" : `message declares ${messageBytes} bytes,`));
        }
      };
      const onEnd = () => {
        stop();
        resolve(Buffer.concat(chunks));
      };
      const onClose = () => {
        stop();
        reject(new ConnectError("the client closed the call before sending its request", Code.Canceled));
      };
      this.request.on("data", onData);
      this.request.once("end", onEnd);
      this.request.once("close", onClose);
    });
  }

  private startDeadline(headers: IncomingHttpHeaders): void {
    const header = headers["grpc-timeout"];
    if (header === undefined) return;
    const parsed = parseTimeout(String(header), MAX_TIMEOUT_MS);
    if (parsed.error) throw parsed.error;
    if (parsed.timeoutMs === undefined) return;
    this.deadline = setTimeout(() => {
      this.deadlineError = new ConnectError(
        `the call's deadline (grpc-timeout ${String(header)}) was exceeded`,
        Code.DeadlineExceeded,
      );
      // Closing the subscription ends the pump; finish() then reports the deadline.
      this.opened?.close();
      if (!this.opened) this.finish(this.deadlineError);
    }, parsed.timeoutMs);
    this.deadline.unref();
  }

  private respond(): void {
    this.headersSent = true;
    this.stream.respond({ ":status": 200, "content-type": this.contentType }, { waitForTrailers: true });
  }

  private async write(chunk: Buffer): Promise<void> {
    if (this.stream.closed || this.stream.destroyed) return;
    if (this.stream.write(chunk)) return;
    // Flow control: the client reads slower than pa writes. Meanwhile this stream's queue of frames
    // fills, and past its bytes (STREAM_BUFFER_BYTES) the stream continues from Kafka at its own pace (catch-up reader).
    await new Promise<void>((resolve) => {
      const done = () => {
        this.stream.off("drain", done);
        this.stream.off("close", done);
        resolve();
      };
      this.stream.on("drain", done);
      this.stream.on("close", done);
    });
  }

  /** Ends the call with its status: in trailers, or as a trailers-only response before any data. */
  private finish(error: ConnectError | undefined): void {
    if (this.finished) return;
    this.finished = true;
    // A client that went away before the end gets no status: its call counts as cancelled.
    this.observed(
      this.stream.closed && !error ? new ConnectError("the client went away", Code.Canceled) : error,
    );
    clearTimeout(this.deadline);
    this.opened?.close();
    if (this.stream.closed || this.stream.destroyed) return;
    const status: Record<string, string> = {};
    const trailer = setTrailerStatus(new Headers(), error);
    respecGrpcMessage(trailer);
    trailer.forEach((value, key) => {
      status[key] = value;
    });
    if (this.opened?.subscription.filter.expression) {
      status[FILTER_ERRORS_TRAILER] = String(this.opened.subscription.filterErrors);
    }
    if (!this.headersSent) {
      this.stream.respond(
        { ":status": 200, "content-type": this.contentType, ...status },
        { endStream: true },
      );
      // A request refused before it was read whole: the rest is dropped as it arrives, never kept.
      if (!this.request.complete) this.request.resume();
      return;
    }
    this.response.addTrailers(status);
    this.stream.end();
  }
}
