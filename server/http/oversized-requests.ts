// MAX_REQUEST_BYTES before a body is read: a request whose content-length already says it is too
// large is answered at once, in its own protocol's words, and its body is never read. A body that
// declares no length is counted as it arrives instead (Connect's readMaxBytes, and the native gRPC
// path), which stops at the bound too.
import type http from "node:http";
import http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/** Connect's end-of-stream envelope flag: the last message of a Connect streaming response. */
const CONNECT_END_STREAM_FLAG = 0b10;
/** gRPC, gRPC-Web and Connect streaming put each message in an envelope of this many bytes. */
const ENVELOPE_BYTES = 5;

/** Answers and returns true when the request declares a body larger than maxBytes. */
export function refuseOversizedRequest(request: Request, response: Response, maxBytes: number): boolean {
  const declared = Number(request.headers["content-length"] ?? Number.NaN);
  if (!(declared > maxBytes)) return false;
  const contentType = String(request.headers["content-type"] ?? "").toLowerCase();
  const enveloped = /^application\/(grpc|connect\+)/.test(contentType);
  if (enveloped && declared <= maxBytes + ENVELOPE_BYTES) return false;
  const message = `the request body is ${declared} bytes; pa accepts at most ${maxBytes} (MAX_REQUEST_BYTES)`;
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
    send(request, response, 200, { "content-type": "application/connect+json" }, envelope);
  } else if (request.method === "POST" && /^application\/(json|proto)/.test(contentType)) {
    // Connect unary: the status is HTTP's, the code in a JSON body.
    const body = Buffer.from(JSON.stringify({ code: "resource_exhausted", message }));
    send(request, response, 413, { "content-type": "application/json" }, body);
  } else {
    send(request, response, 413, { "content-type": "text/plain" }, Buffer.from(`${message}\n`));
  }
  return true;
}

// The body stays unread: HTTP/1.1 closes the connection after the answer; HTTP/2 ends the stream
// with RST_STREAM(NO_ERROR), which asks the client to stop sending without an error (RFC 9113 8.1).
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
    stream.once("finish", () => stream.close(http2.constants.NGHTTP2_NO_ERROR));
    if (body === undefined) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    return;
  }
  const reply = response as http.ServerResponse;
  reply.writeHead(status, { ...headers, connection: "close" });
  reply.end(body);
}
