// Every Connect call (payments, dead-letter admin, health, reflection; over Connect, gRPC-Web and
// gRPC) is authenticated before its handler runs; the handler and later checks read the result
// from `identityKey`.
import type { Interceptor } from "@connectrpc/connect";
import type { Authenticator } from "./authenticator.js";
import { clientCertificateKey } from "./client-certificate.js";
import { identityKey } from "./identity.js";

export function authenticationInterceptor(authenticator: Authenticator): Interceptor {
  return (next) => async (request) => {
    const identity = await authenticator.authenticate({
      authorization: request.header.get("authorization"),
      certificate: request.contextValues.get(clientCertificateKey),
    });
    request.contextValues.set(identityKey, identity);
    return next(request);
  };
}
