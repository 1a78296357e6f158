// Serves HTTP/1.1 and HTTP/2 on one port. With TLS, ALPN picks the protocol. Without it, each new
// connection is routed by its first bytes: the HTTP/2 connection preface goes to the http2 server,
// anything else to the HTTP/1.1 server. Both share one request handler (the Connect adapter).
//
// Node starts an http.Server's header timeouts only for connections it accepted itself, so for the
// sockets routed here by hand this module enforces the deadline for request headers (slowloris),
// and, beside it, one for request bodies (a client trickling a body holds memory and a handler).
// It also caps the connections (MAX_CONNECTIONS) and what one HTTP/2 connection may hold.

import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import net, { type AddressInfo, Socket } from "node:net";

export type RequestHandler = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface OnePortServerOptions {
  host: string;
  port: number;
  tls?: {
    certFile: string;
    keyFile: string;
    /**
     * mTLS: ask every client for a certificate and verify it against this CA file. `required`
     * refuses the handshake without a valid one; otherwise the call's authentication decides.
     */
    clientCa?: { file: string; required: boolean };
  };
  /** A client must finish sending request headers within this long (HTTP/1.1), or the preface (HTTP/2). */
  headersTimeoutMs: number;
  /**
   * A client must finish sending a request body within this long of its headers; the connection
   * (HTTP/1.1) or the stream (HTTP/2) is closed otherwise.
   */
  bodyTimeoutMs: number;
  /** Requests whose body is a long-lived stream (bidirectional RPCs), exempt from bodyTimeoutMs. */
  streamsRequestBody?: (request: http.IncomingMessage | http2.Http2ServerRequest) => boolean;
  /** Connections open at once; further ones are closed as soon as they are accepted. */
  maxConnections: number;
  /**
   * Streaming calls allowed on one connection (MAX_STREAMS_PER_CONNECTION); HTTP/2 allows this
   * many concurrent streams plus room for unary calls beside them.
   */
  maxStreamsPerConnection: number;
  handler: RequestHandler;
}

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
// Idle HTTP/1.1 keep-alive connections close after this long.
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
// What one HTTP/2 connection may hold in nghttp2's buffers before it is refused more (MB): a
// few slow streams' worth of writes; Node's default (10) throttles fan-out to busy connections.
const MAX_SESSION_MEMORY_MB = 64;
// Request headers per HTTP/2 request, in bytes: room for a JWT or a client certificate's chain.
const MAX_HEADER_LIST_BYTES = 32 * 1024;
// Unary calls one HTTP/2 connection may have in flight beside a full set of streaming calls.
const UNARY_CALLS_BESIDE_STREAMS = 100;

export class OnePortServer {
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<http2.Http2Session>();
  private readonly http1: http.Server;
  private readonly http2: http2.Http2Server | http2.Http2SecureServer;
  private readonly listener: net.Server;
  // HTTP/1.1 sockets waiting for (the rest of) a request's headers, with their deadline.
  private readonly headerDeadlines = new WeakMap<Socket, NodeJS.Timeout>();

  constructor(private readonly options: OnePortServerOptions) {
    const handle: RequestHandler = (request, response) => {
      // HTTP/1.1: the headers arrived; the next request on this connection gets a new deadline.
      if (request.httpVersionMajor === 1) {
        // Answered before its body is in (Connect refusing a body over MAX_REQUEST_BYTES): closing
        // the connection with the rest unread would reset it, and a client still uploading would
        // see the reset instead of the answer. So the request is not destroyed by a reader that
        // stops early, the rest is dropped as it arrives, and a closing connection lingers until
        // the client has sent it all (bounded by the body deadline).
        const body = request as http.IncomingMessage;
        body[Symbol.asyncIterator] = () => body.iterator({ destroyOnReturn: false });
        const socket = request.socket as Socket;
        this.clearHeaderDeadline(socket);
        this.lingerOnClose(socket, body);
        response.once("finish", () => {
          if (!body.complete) body.resume();
          if (!socket.destroyed) this.armHeaderDeadline(socket);
        });
      }
      if (!options.streamsRequestBody?.(request)) this.armBodyDeadline(request, response);
      options.handler(request, response);
    };
    this.http1 = http.createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, requestTimeout: 0 }, handle);
    const http2Options: http2.SecureServerOptions = {
      // The PoC's Node clients ping every 10 s with no call in flight; answering them is all a
      // server must do (the Go PoC sent GOAWAY too_many_pings and killed idle streams).
      settings: {
        maxConcurrentStreams: options.maxStreamsPerConnection + UNARY_CALLS_BESIDE_STREAMS,
        maxHeaderListSize: MAX_HEADER_LIST_BYTES,
      },
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
    };
    if (options.tls) {
      this.http2 = http2.createSecureServer(
        {
          ...http2Options,
          cert: readFileSync(options.tls.certFile),
          key: readFileSync(options.tls.keyFile),
          allowHTTP1: true,
          ALPNProtocols: ["h2", "http/1.1"],
          ...(options.tls.clientCa
            ? {
                requestCert: true,
                ca: readFileSync(options.tls.clientCa.file),
                rejectUnauthorized: options.tls.clientCa.required,
              }
            : {}),
        },
        handle,
      );
      // With TLS, ALPN routes connections; the header deadline starts once the handshake is done.
      this.http2.on("secureConnection", (socket: Socket) => this.armHeaderDeadline(socket));
    } else {
      this.http2 = http2.createServer(http2Options, handle);
    }
    this.http2.on("session", (session: http2.Http2Session) => {
      this.clearHeaderDeadline(session.socket as Socket);
      this.sessions.add(session);
      session.once("close", () => this.sessions.delete(session));
    });
    this.listener = options.tls
      ? (this.http2 as http2.Http2SecureServer)
      : net.createServer({ noDelay: true }, (socket) => this.route(socket));
    // Node closes connections past this as soon as it accepts them; the open ones are untouched.
    this.listener.maxConnections = options.maxConnections;
    this.listener.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    // A peer that resets mid-handshake must not take the process down.
    for (const server of [this.http1, this.http2, this.listener])
      server.on("clientError", (_e, s) => s.destroy());
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.listener.once("error", reject);
      this.listener.listen(this.options.port, this.options.host, () => {
        this.listener.off("error", reject);
        resolve(this.listener.address() as AddressInfo);
      });
    });
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  /**
   * Graceful close: stop accepting, send GOAWAY to HTTP/2 sessions and close idle HTTP/1.1
   * connections, let open requests finish, and destroy whatever is left at the deadline.
   */
  async close(deadlineMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    for (const session of this.sessions) session.close();
    this.http1.closeIdleConnections();
    const deadline = Date.now() + deadlineMs;
    while (this.sockets.size > 0 && Date.now() < deadline) {
      this.http1.closeIdleConnections();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private route(socket: Socket): void {
    this.armHeaderDeadline(socket);
    let received: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const compared = Math.min(received.length, HTTP2_PREFACE.length);
      const looksLikeHttp2 = received.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
      if (looksLikeHttp2 && received.length < HTTP2_PREFACE.length) return;
      socket.off("data", onData);
      socket.pause();
      socket.unshift(received);
      if (looksLikeHttp2) {
        // The http2 session takes over the socket's handle and first drains what is buffered;
        // resuming the socket here as well would make two readers of one handle.
        this.clearHeaderDeadline(socket);
        this.http2.emit("connection", socket);
      } else {
        this.http1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  }

  // Node closes an HTTP/1.1 connection after its answer with destroySoon(): while the request's
  // body is not all in, it only half-closes (FIN) and reads on until the client is done, or the
  // body deadline passes.
  private lingerOnClose(socket: Socket, request: http.IncomingMessage): void {
    const destroySoon = Socket.prototype.destroySoon;
    socket.destroySoon = () => {
      if (request.complete) return destroySoon.call(socket);
      socket.end();
      const timer = setTimeout(() => socket.destroy(), this.options.bodyTimeoutMs);
      timer.unref();
      socket.once("close", () => clearTimeout(timer));
    };
  }

  private armBodyDeadline(
    request: http.IncomingMessage | http2.Http2ServerRequest,
    response: http.ServerResponse | http2.Http2ServerResponse,
  ): void {
    if (request.complete) return;
    const timer = setTimeout(() => {
      if (request.complete) return;
      if ("stream" in request) request.stream.close(http2.constants.NGHTTP2_CANCEL);
      else request.socket.destroy();
    }, this.options.bodyTimeoutMs);
    timer.unref();
    const clear = () => clearTimeout(timer);
    request.once("end", clear);
    response.once("close", clear);
  }

  private armHeaderDeadline(socket: Socket): void {
    this.clearHeaderDeadline(socket);
    const timer = setTimeout(() => socket.destroy(), this.options.headersTimeoutMs);
    timer.unref();
    this.headerDeadlines.set(socket, timer);
  }

  private clearHeaderDeadline(socket: Socket): void {
    clearTimeout(this.headerDeadlines.get(socket));
    this.headerDeadlines.delete(socket);
  }
}
