// Connect answers a request it cannot decode (protobuf that does not parse, a message flagged
// compressed with no encoding named, compressed bytes zlib cannot inflate) with INTERNAL, as if pa had failed. It is the client's
// request that is wrong: pa answers INVALID_ARGUMENT, with Connect's own message, in each
// protocol's error form. Such errors are raised before any interceptor runs, so this rewrites
// the universal response on its way out (see rpc-adapter.ts).
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";

const UNDECODABLE =
  /^(parse binary: |received compressed envelope, but do not know how to decompress|decompression failed$)/;
const GRPC_INTERNAL = "13";
const GRPC_INVALID_ARGUMENT = "3";
const GRPC_WEB_TRAILER_FLAG = 0x80;
const CONNECT_END_STREAM_FLAG = 0x02;
const HTTP_BAD_REQUEST = 400;
const HTTP_INTERNAL_SERVER_ERROR = 500;

export function undecodableAsInvalidArgument(response: UniversalServerResponse): UniversalServerResponse {
  // gRPC: the status in trailers, or in the headers of a trailers-only answer.
  for (const headers of [response.header, response.trailer]) {
    if (headers && isUndecodableGrpcStatus(headers.get("grpc-status"), headers.get("grpc-message"))) {
      headers.set("grpc-status", GRPC_INVALID_ARGUMENT);
    }
  }
  const contentType = response.header?.get("content-type") ?? "";
  if (!response.body) return response;
  if (response.status === HTTP_INTERNAL_SERVER_ERROR && contentType.startsWith("application/json")) {
    // The rewritten error is longer than the declared one.
    response.header?.delete("content-length");
    return { ...response, status: HTTP_BAD_REQUEST, body: rewriteConnectUnaryError(response.body) };
  }
  if (contentType.startsWith("application/grpc-web")) {
    return {
      ...response,
      body: rewriteLastEnvelope(response.body, GRPC_WEB_TRAILER_FLAG, rewriteGrpcWebTrailer),
    };
  }
  if (contentType.startsWith("application/connect+")) {
    return {
      ...response,
      body: rewriteLastEnvelope(response.body, CONNECT_END_STREAM_FLAG, rewriteConnectEndStream),
    };
  }
  return response;
}

async function* rewriteConnectUnaryError(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  yield rewriteConnectJson(Buffer.concat(chunks), (json) => json);
}

// Each chunk is one whole envelope; the one flagged as the end carries the status.
async function* rewriteLastEnvelope(
  body: AsyncIterable<Uint8Array>,
  flag: number,
  rewrite: (envelope: Uint8Array) => Uint8Array,
): AsyncIterable<Uint8Array> {
  for await (const chunk of body) {
    yield chunk.byteLength >= 5 && (chunk[0] ?? 0) & flag ? rewrite(chunk) : chunk;
  }
}

function isUndecodableGrpcStatus(status: string | null, message: string | null): boolean {
  if (status !== GRPC_INTERNAL || !message) return false;
  try {
    return UNDECODABLE.test(decodeURIComponent(message));
  } catch {
    return false;
  }
}

function rewriteGrpcWebTrailer(envelope: Uint8Array): Uint8Array {
  const text = Buffer.from(envelope.subarray(5)).toString("latin1");
  const status = /^grpc-status:\s*(\d+)\s*$/im.exec(text)?.[1] ?? null;
  const message = /^grpc-message:\s*(.*?)\s*$/im.exec(text)?.[1] ?? null;
  if (!isUndecodableGrpcStatus(status, message)) return envelope;
  return withPayload(
    envelope[0] ?? 0,
    Buffer.from(text.replace(/^grpc-status:\s*13/im, "grpc-status: 3"), "latin1"),
  );
}

function rewriteConnectEndStream(envelope: Uint8Array): Uint8Array {
  const payload = rewriteConnectJson(Buffer.from(envelope.subarray(5)), (json) => json.error);
  return payload === envelope.subarray(5) ? envelope : withPayload(envelope[0] ?? 0, payload);
}

/** Connect's JSON error (`{code, message}`, found by `errorOf`) with INTERNAL made INVALID_ARGUMENT. */
function rewriteConnectJson(
  payload: Uint8Array,
  errorOf: (json: Record<string, unknown>) => unknown,
): Uint8Array {
  try {
    const json = JSON.parse(Buffer.from(payload).toString("utf8")) as Record<string, unknown>;
    const error = errorOf(json) as { code?: unknown; message?: unknown } | undefined;
    if (error?.code !== "internal" || typeof error.message !== "string" || !UNDECODABLE.test(error.message))
      return payload;
    error.code = "invalid_argument";
    return Buffer.from(JSON.stringify(json));
  } catch {
    return payload;
  }
}

function withPayload(flags: number, payload: Uint8Array): Uint8Array {
  const envelope = Buffer.alloc(5 + payload.byteLength);
  envelope[0] = flags;
  envelope.writeUInt32BE(payload.byteLength, 1);
  envelope.set(payload, 5);
  return envelope;
}
