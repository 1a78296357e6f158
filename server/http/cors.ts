// CORS for browsers on other origins (CORS_ORIGINS, exact origins only): a preflight from an
// allowed origin is answered here with 204 and what Connect's protocols need (Connect's `cors`
// constants) plus pa's own headers; an actual request from it gets its origin echoed and pa's
// headers exposed. Any other origin gets no CORS header, so the browser keeps the answer from it.
import type http from "node:http";
import type http2 from "node:http2";
import { cors } from "@connectrpc/connect";
import { RESUME_CURSOR_TRAILER } from "../rpc/error-mapping.js";

// How long a browser may reuse a preflight's answer (Chrome caps it at 2 hours).
const PREFLIGHT_MAX_AGE_SECONDS = 7200;

/**
 * Returns a handler that adds CORS headers to the response and returns true when it answered the
 * request itself (a preflight). With no origins configured it never does anything.
 */
export function corsHandler(
  origins: readonly string[],
): (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => boolean {
  const allowed = new Set(origins);
  const allowMethods = cors.allowedMethods.join(", ");
  const allowHeaders = [...cors.allowedHeaders, "Authorization"].join(", ");
  const exposeHeaders = [
    ...cors.exposedHeaders,
    RESUME_CURSOR_TRAILER,
    // Connect unary calls send trailers as headers with this prefix.
    `Trailer-${RESUME_CURSOR_TRAILER}`,
  ].join(", ");

  return (request, response) => {
    if (allowed.size === 0) return false;
    const origin = request.headers.origin;
    const preflight =
      request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined;
    // Caches must not hand one origin's answer to another.
    response.setHeader("Vary", "Origin");
    if (typeof origin !== "string" || !allowed.has(origin)) {
      if (!preflight) return false;
      response.writeHead(403, { "content-type": "text/plain" });
      response.end(`origin ${JSON.stringify(origin ?? "")} is not in CORS_ORIGINS\n`);
      return true;
    }
    response.setHeader("Access-Control-Allow-Origin", origin);
    // pa's callers carry credentials (client certificates, cookies a proxy may need); with an
    // exact origin (never "*", config.ts refuses it) a browser may send them.
    response.setHeader("Access-Control-Allow-Credentials", "true");
    if (!preflight) {
      response.setHeader("Access-Control-Expose-Headers", exposeHeaders);
      return false;
    }
    response.writeHead(204, {
      "Access-Control-Allow-Methods": allowMethods,
      "Access-Control-Allow-Headers": allowHeaders,
      "Access-Control-Max-Age": String(PREFLIGHT_MAX_AGE_SECONDS),
    });
    response.end();
    return true;
  };
}
