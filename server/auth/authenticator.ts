// Turns what a call carries (its `authorization` header or gRPC metadata, and the connection's
// client certificate) into the caller's Identity, the same way for every protocol and RPC. A
// missing or bad credential is an AuthenticationError that says what to send instead.
import type { AuthConfig } from "../config/config.js";
import type { ClientCertificate } from "./client-certificate.js";
import { ANONYMOUS, AuthenticationError, type Identity } from "./identity.js";
import type { JwtVerifier } from "./jwt-verifier.js";
import type { TokensFile } from "./tokens-file.js";

export interface Credentials {
  /** The `authorization` header (HTTP) or metadata entry (gRPC), as sent. */
  authorization?: string | null | undefined;
  /** The connection's client certificate; only looked at with TLS_CLIENT_CA. */
  certificate?: ClientCertificate | undefined;
}

export interface AuthenticatorOptions {
  mode: AuthConfig["mode"];
  /** API keys (AUTH_MODE=token) and certificate subjects (mTLS). */
  tokens?: TokensFile;
  /** AUTH_MODE=jwt. */
  jwt?: JwtVerifier;
  /** TLS_CLIENT_CA is set: client certificates identify callers. */
  mtls: boolean;
}

const BEARER = /^Bearer +(\S+) *$/i;

export class Authenticator {
  constructor(private readonly options: AuthenticatorOptions) {
    if (options.mode === "token" && !options.tokens) throw new Error("AUTH_MODE=token needs the tokens file");
    if (options.mode === "jwt" && !options.jwt) throw new Error("AUTH_MODE=jwt needs a JWT verifier");
    if (options.mtls && !options.tokens)
      throw new Error("mTLS needs the tokens file for certificate subjects");
  }

  /** Whether a caller with no credential at all is let in (as ANONYMOUS). */
  get open(): boolean {
    return this.options.mode === "none" && !this.options.mtls;
  }

  async authenticate(credentials: Credentials): Promise<Identity> {
    const { mode, mtls } = this.options;
    if (this.open) return ANONYMOUS;
    // A bearer is what the caller chose to be, so it wins over the connection's certificate.
    if (mode !== "none" && credentials.authorization) {
      return this.fromBearer(bearerOf(credentials.authorization, this.wanted()));
    }
    if (mtls && credentials.certificate) return this.fromCertificate(credentials.certificate);
    throw new AuthenticationError(`no credential: ${this.wanted()}`);
  }

  private async fromBearer(credential: string): Promise<Identity> {
    if (this.options.mode === "jwt") return (this.options.jwt as JwtVerifier).verify(credential);
    const identity = (this.options.tokens as TokensFile).current.byKey(credential);
    if (!identity) {
      throw new AuthenticationError(
        "the API key is not known (mistyped, or revoked from AUTH_TOKENS_FILE); send authorization: Bearer <API key> with a current key",
      );
    }
    return identity;
  }

  private fromCertificate(certificate: ClientCertificate): Identity {
    if (!certificate.authorized) {
      throw new AuthenticationError(
        `the client certificate is not signed by a CA in TLS_CLIENT_CA (${certificate.authorizationError ?? "not verified"}); ${this.wanted()}`,
      );
    }
    const identity = (this.options.tokens as TokensFile).current.bySubject(certificate.names);
    if (!identity) {
      throw new AuthenticationError(
        `the client certificate (${certificate.names.join(", ") || "no names"}) is not a "subject" in AUTH_TOKENS_FILE`,
      );
    }
    return identity;
  }

  /** What a caller must send, for error messages. */
  private wanted(): string {
    const { mode, mtls } = this.options;
    const bearer =
      mode === "token"
        ? "send authorization: Bearer <API key>"
        : mode === "jwt"
          ? "send authorization: Bearer <JWT>"
          : undefined;
    const certificate = "connect with a client certificate signed by a CA in TLS_CLIENT_CA";
    if (!mtls) return bearer ?? "";
    return bearer ? `${bearer}, or ${certificate}` : certificate;
  }
}

function bearerOf(authorization: string, wanted: string): string {
  const match = BEARER.exec(authorization);
  if (!match?.[1]) throw new AuthenticationError(`the authorization is not "Bearer <credential>"; ${wanted}`);
  return match[1];
}
