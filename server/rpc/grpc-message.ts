// The gRPC status message as the gRPC spec writes it. Connect percent-encodes `grpc-message` with
// encodeURIComponent, which also escapes ":", ",", "/" and the like; grpc-js (the PoC's client)
// decodes it with decodeURI, which leaves those escaped, so its users read "no credential%3A send
// ...". The spec (doc/PROTOCOL-HTTP2.md, "Status-Message") escapes only bytes outside 0x20-0x7E and
// "%" itself, which every decoder reads back the same.
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";

const GRPC_MESSAGE = "grpc-message";

/** Percent-encodes the UTF-8 bytes of `text` outside 0x20-0x7E, and "%". */
export function encodeGrpcMessage(text: string): string {
  let encoded = "";
  for (const byte of Buffer.from(text, "utf8")) {
    encoded +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return encoded;
}

/** Rewrites a `grpc-message` that Connect encoded in the spec's form, in place. */
export function respecGrpcMessage(headers: Headers | undefined): void {
  const value = headers?.get(GRPC_MESSAGE);
  if (!headers || value === null || value === undefined) return;
  let text: string;
  try {
    text = decodeURIComponent(value);
  } catch {
    return;
  }
  headers.set(GRPC_MESSAGE, encodeGrpcMessage(text));
}

/**
 * A gRPC answer (not gRPC-Web, whose trailers ride in the body) with its status message in the
 * spec's form: in the headers of a trailers-only answer now, in the trailers once the body ended.
 */
export function grpcMessageAsSpecified(response: UniversalServerResponse): UniversalServerResponse {
  const contentType = response.header?.get("content-type") ?? "";
  if (!/^application\/grpc(\+|;|$)/.test(contentType)) return response;
  respecGrpcMessage(response.header);
  const { body, trailer } = response;
  if (!body || !trailer) {
    respecGrpcMessage(trailer);
    return response;
  }
  return {
    ...response,
    body: (async function* () {
      try {
        yield* body;
      } finally {
        respecGrpcMessage(trailer);
      }
    })(),
  };
}
