// Who is calling, and what they may do. Every RPC of every protocol carries one Identity, made once
// per call by the authenticator (server/auth/authenticator.ts) and read by the access checks.
// Grants follow OAuth 2 scopes: a space-separated `scope` string of `read:<topic-glob>`
// (repeatable), `pii`, `admin` and `metrics`, the same grammar for API keys, JWTs and mTLS.
import { createContextKey } from "@connectrpc/connect";

export interface Grants {
  /** Topic globs (picomatch) the identity may stream, query and see. */
  readTopics: readonly string[];
  /** Sees customer e-mails and the PII_METADATA_KEYS unmasked. */
  pii: boolean;
  /** May use pa.admin.v1.DeadLetterService (list, redrive, dry runs). */
  admin: boolean;
  /** May read /metrics from a non-loopback address. */
  metrics: boolean;
}

export type IdentityKind = "anonymous" | "token" | "jwt" | "mtls";

export interface Identity {
  /** What logs and audit lines call it: the token's name, the JWT's `sub`, the certificate subject. */
  name: string;
  kind: IdentityKind;
  grants: Grants;
  /** Bound to one tenant: sees only payments whose TENANT_METADATA_KEY has this value. */
  tenant?: string;
  /** When the credential stops being valid (JWT `exp`); a stream is ended then. */
  expiresAtMs?: number;
}

/** AUTH_MODE=none: pa listens on loopback only (or ALLOW_INSECURE said so), and every caller may do everything. */
export const ANONYMOUS: Identity = Object.freeze({
  name: "anonymous",
  kind: "anonymous",
  grants: Object.freeze({ readTopics: Object.freeze(["*"]), pii: true, admin: true, metrics: true }),
});

/** The caller of a Connect call, set by the authentication interceptor. */
export const identityKey = createContextKey<Identity>(ANONYMOUS, { description: "the caller's identity" });

/** A credential is missing, malformed, forged, expired or revoked: UNAUTHENTICATED. */
export class AuthenticationError extends Error {
  override readonly name = "AuthenticationError";
}

/** A valid identity without the grant the call needs: PERMISSION_DENIED, naming the grant. */
export class PermissionError extends Error {
  override readonly name = "PermissionError";
  constructor(
    readonly grant: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parses an OAuth 2 `scope` string into grants; unknown scopes are ignored, as OAuth servers do. */
export function grantsFromScope(scope: string): Grants {
  const readTopics: string[] = [];
  let pii = false;
  let admin = false;
  let metrics = false;
  for (const item of scope.split(/\s+/)) {
    if (item.startsWith("read:") && item.length > "read:".length) readTopics.push(item.slice("read:".length));
    else if (item === "pii") pii = true;
    else if (item === "admin") admin = true;
    else if (item === "metrics") metrics = true;
  }
  return { readTopics, pii, admin, metrics };
}

/**
 * The credential of an open stream expired (JWT `exp`): UNAUTHENTICATED, with `cursor` in the
 * pa-resume-cursor trailer so the client resumes exactly where it was with a fresh credential.
 */
export class CredentialExpiredError extends AuthenticationError {
  constructor(
    message: string,
    readonly cursor: string,
  ) {
    super(message);
  }
}
