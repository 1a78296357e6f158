// Every Connect call (payments, dead-letter admin, health, reflection; over Connect, gRPC-Web and
// gRPC) is authenticated before its handler runs; the handler and later checks read the result
// from `identityKey`. A stream outlives no credential: when a JWT expires, its streams end.
import type { DescMethod } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import type { Authenticator } from "./authenticator.js";
import { clientCertificateKey } from "./client-certificate.js";
import { onCredentialExpiry } from "./credential-expiry.js";
import { AuthenticationError, type Identity, identityKey } from "./identity.js";

export interface AuthenticationInterceptorOptions {
  /** Streams that end themselves at expiry, with more to say (StreamPayments: a resume cursor). */
  streamsEndingThemselves?: readonly DescMethod[];
}

export function authenticationInterceptor(
  authenticator: Authenticator,
  options: AuthenticationInterceptorOptions = {},
): Interceptor {
  const exempt = new Set(options.streamsEndingThemselves ?? []);
  return (next) => async (request) => {
    const identity = await authenticator.authenticate({
      authorization: request.header.get("authorization"),
      certificate: request.contextValues.get(clientCertificateKey),
    });
    request.contextValues.set(identityKey, identity);
    const response = await next(request);
    if (!response.stream || identity.expiresAtMs === undefined || exempt.has(request.method)) return response;
    return { ...response, message: untilExpiry(response.message, identity) };
  };
}

// Health Watch and reflection streams have no position to resume from: they just end.
async function* untilExpiry<T>(messages: AsyncIterable<T>, identity: Identity): AsyncIterable<T> {
  const iterator = messages[Symbol.asyncIterator]();
  let cancel = () => {};
  const expired = new Promise<"expired">((resolve) => {
    cancel = onCredentialExpiry(identity, () => resolve("expired"));
  });
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), expired]);
      if (next === "expired") {
        throw new AuthenticationError(
          `the credential of ${identity.name} expired; call again with a fresh one (authorization: Bearer <JWT>)`,
        );
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    cancel();
    // Connect aborts the handler's signal once this ends, which stops a handler waiting for news.
    iterator.return?.().catch(() => {});
  }
}
