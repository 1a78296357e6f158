// mTLS: the client certificate a caller presented in the TLS handshake (TLS_CLIENT_CA), as the
// authenticator sees it. Node has verified it against the CA by then; its names (subject CN and
// subject alternative names) are looked up among the tokens file's "subject" entries.
import type { PeerCertificate, TLSSocket } from "node:tls";
import { createContextKey } from "@connectrpc/connect";

export interface ClientCertificate {
  /** Node verified the chain against TLS_CLIENT_CA. */
  authorized: boolean;
  /** Why it did not, when it did not (e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE). */
  authorizationError?: string;
  /** The subject's CN, then each SAN's value (DNS, URI, IP Address, email), in that order. */
  names: string[];
}

/** The certificate of the connection a Connect call arrived on, set by the HTTP layer. */
export const clientCertificateKey = createContextKey<ClientCertificate | undefined>(undefined, {
  description: "client certificate",
});

/**
 * The certificate the peer of a connection presented, or undefined (no TLS, or none sent). For
 * HTTP/2, pass the session's socket: the per-request socket is a proxy of it.
 */
export function clientCertificateOf(socket: unknown): ClientCertificate | undefined {
  const tlsSocket = socket as Partial<TLSSocket> | undefined;
  if (typeof tlsSocket?.getPeerCertificate !== "function") return undefined;
  const certificate = tlsSocket.getPeerCertificate();
  // An empty object when the client sent none.
  if (!certificate || Object.keys(certificate).length === 0) return undefined;
  const error = tlsSocket.authorizationError;
  return {
    authorized: tlsSocket.authorized === true,
    ...(error ? { authorizationError: String(error) } : {}),
    names: certificateNames(certificate),
  };
}

export function certificateNames(certificate: Pick<PeerCertificate, "subject" | "subjectaltname">): string[] {
  const names: string[] = [];
  const cn = certificate.subject?.CN as string | string[] | undefined;
  if (Array.isArray(cn)) names.push(...cn);
  else if (cn) names.push(cn);
  // "DNS:a.example, URI:spiffe://cluster/ns/x, IP Address:10.0.0.1, email:ops@example.com"
  for (const part of (certificate.subjectaltname ?? "").split(", ")) {
    const colon = part.indexOf(":");
    if (colon > 0 && colon < part.length - 1) names.push(part.slice(colon + 1));
  }
  return names;
}
