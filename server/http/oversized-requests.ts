// MAX_REQUEST_BYTES before a body is read: a request whose content-length already says it is too
// large is answered at once, in its own protocol's words, and its body is never kept. A body
// without a declared length is counted as it arrives instead (Connect's readMaxBytes, which also
// reads envelope headers, and the native gRPC path), which stops at the bound too.
import type http from "node:http";
import type http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/** Connect's end-of-stream envelope flag: the last message of a Connect streaming response. */
const CONNECT_END_STREAM_FLAG = 0b10;
/** gRPC, gRPC-Web and Connect streaming put each message in an envelope of this many bytes. */
const ENVELOPE_BYTES = 5;

/** Answers a request that says it is larger than maxBytes, or calls `next` to serve it. */
export function guardRequestSize(
  request: Request,
  response: Response,
  maxBytes: number,
  next: () => void,
): void {
  const contentType = String(request.headers["content-type"] ?? "").toLowerCase();
  const enveloped = /^application\/(grpc|connect\+)/.test(contentType);
  const declared = Number(request.headers["content-length"] ?? Number.NaN);
  if (declared > maxBytes + (enveloped ? ENVELOPE_BYTES : 0)) {
    refuse(request, response, contentType, `the request body is ${declared} bytes`, maxBytes);
    return;
  }
  next();
}

function refuse(
  request: Request,
  response: Response,
  contentType: string,
  what: string,
  maxBytes: number,
): void {
  const message = `${what}; pa accepts at most ${maxBytes} (MAX_REQUEST_BYTES)`;
  if (contentType.startsWith("application/grpc")) {
    // gRPC and gRPC-Web: a trailers-only response, the status in its headers.
    const headers: Record<string, string> = { "content-type": contentType };
    setTrailerStatus(new Headers(), new ConnectError(message, Code.ResourceExhausted)).forEach((v, k) => {
      headers[k] = v;
    });
    send(request, response, 200, headers, undefined);
  } else if (contentType.startsWith("application/connect+")) {
    const json = Buffer.from(JSON.stringify({ error: { code: "resource_exhausted", message } }));
    const envelope = Buffer.alloc(5 + json.length);
    envelope[0] = CONNECT_END_STREAM_FLAG;
    envelope.writeUInt32BE(json.length, 1);
    json.copy(envelope, 5);
    // The end-of-stream message is JSON whatever the codec.
    send(request, response, 200, { "content-type": contentType }, envelope);
  } else if (request.method === "POST" && /^application\/(json|proto)/.test(contentType)) {
    // Connect unary: the status is HTTP's, the code in a JSON body.
    const body = Buffer.from(JSON.stringify({ code: "resource_exhausted", message }));
    send(request, response, 413, { "content-type": "application/json" }, body);
  } else {
    send(request, response, 413, { "content-type": "text/plain" }, Buffer.from(`${message}\n`));
  }
}

// The body is never kept: what the client still sends is dropped as it arrives. (Closing an
// HTTP/1.1 connection with the body unread would reset it, and the client could lose the answer.)
function send(
  request: Request,
  response: Response,
  status: number,
  headers: Record<string, string>,
  body: Buffer | undefined,
): void {
  if ("stream" in request) {
    const stream = (response as http2.Http2ServerResponse).stream;
    stream.respond({ ":status": status, ...headers }, { endStream: body === undefined });
    if (body) stream.end(body);
    request.resume();
    return;
  }
  const reply = response as http.ServerResponse;
  reply.writeHead(status, headers);
  reply.end(body);
  request.resume();
}
