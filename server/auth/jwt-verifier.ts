// AUTH_MODE=jwt: verifies a bearer JWT with jose against the issuer's keys (a JWKS URL, cached and
// refetched when a token names an unknown `kid`, at most once per cooldown; or a public key file)
// and turns its claims into an Identity: `sub` names it, `scope` grants, AUTH_TENANT_CLAIM binds.
import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  jwtVerify,
} from "jose";
import { type AuthConfig, ConfigError } from "../config/config.js";
import { AuthenticationError, grantsFromScope, type Identity } from "./identity.js";

/** The issuer's JWKS endpoint did not answer: not the caller's fault, so UNAVAILABLE. */
export class KeySetUnavailableError extends Error {
  override readonly name = "KeySetUnavailableError";
}

// Only asymmetric algorithms: with HS256 anyone holding the verification key could mint tokens.
const ALGORITHMS = ["RS256", "ES256", "EdDSA"];
// Clocks of the issuer and pa disagree a little.
const CLOCK_TOLERANCE_S = 30;
// Unknown `kid`s refetch the JWKS at most this often, so forged tokens cannot hammer the issuer.
const JWKS_COOLDOWN_MS = 30_000;
const JWKS_MAX_AGE_MS = 10 * 60_000;
const JWKS_TIMEOUT_MS = 5_000;

type KeySource = Parameters<typeof jwtVerify>[1];

export class JwtVerifier {
  private constructor(
    private readonly keys: KeySource,
    private readonly settings: NonNullable<AuthConfig["jwt"]>,
    private readonly tenantClaim: string | undefined,
  ) {}

  /** Throws a ConfigError (exit 2) when AUTH_JWT_PUBLIC_KEY_FILE is not a usable public key. */
  static create(auth: AuthConfig): JwtVerifier {
    const settings = auth.jwt;
    if (!settings) throw new Error("JwtVerifier needs AUTH_MODE=jwt settings");
    const keys =
      "jwksUrl" in settings.keys
        ? createRemoteJWKSet(new URL(settings.keys.jwksUrl), {
            cooldownDuration: JWKS_COOLDOWN_MS,
            cacheMaxAge: JWKS_MAX_AGE_MS,
            timeoutDuration: JWKS_TIMEOUT_MS,
          })
        : createLocalJWKSet(readKeyFile(settings.keys.publicKeyFile));
    return new JwtVerifier(keys, settings, auth.tenantClaim);
  }

  /** Throws AuthenticationError saying what is wrong with the token, or KeySetUnavailableError. */
  async verify(token: string): Promise<Identity> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        algorithms: ALGORITHMS,
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ["exp", "sub"],
      }));
    } catch (error) {
      throw explain(error);
    }
    const tenant = this.tenantClaim ? payload[this.tenantClaim] : undefined;
    if (this.tenantClaim && (typeof tenant !== "string" || tenant === "")) {
      throw new AuthenticationError(
        `the JWT has no "${this.tenantClaim}" claim (AUTH_TENANT_CLAIM): pa serves only identities bound to a tenant`,
      );
    }
    return {
      name: String(payload.sub),
      kind: "jwt",
      grants: grantsFromScope(scopeOf(payload.scope)),
      ...(typeof tenant === "string" ? { tenant } : {}),
      ...(payload.exp !== undefined ? { expiresAtMs: payload.exp * 1000 } : {}),
    };
  }
}

// OAuth 2 says a space-separated string; some issuers send an array.
function scopeOf(claim: unknown): string {
  if (typeof claim === "string") return claim;
  if (Array.isArray(claim)) return claim.filter((s) => typeof s === "string").join(" ");
  return "";
}

function explain(error: unknown): Error {
  const fresh = "; send a valid one as authorization: Bearer <JWT>";
  if (error instanceof errors.JWTExpired) return new AuthenticationError(`the JWT has expired${fresh}`);
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new AuthenticationError(
      `the JWT's "${error.claim}" claim is not accepted: ${error.message}${fresh}`,
    );
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new AuthenticationError(`no key of the issuer matches the JWT's "kid" and algorithm${fresh}`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new AuthenticationError(`the JWT's signature does not verify with the issuer's keys${fresh}`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new AuthenticationError(
      `the JWT's algorithm is not accepted (only ${ALGORITHMS.join(", ")})${fresh}`,
    );
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return new KeySetUnavailableError(`cannot get the issuer's keys (AUTH_JWKS_URL): ${error.message}`);
  }
  if (error instanceof errors.JOSEError)
    return new AuthenticationError(`the JWT is not valid: ${error.message}${fresh}`);
  // fetch failures (connection refused, DNS) of the JWKS endpoint.
  if (error instanceof TypeError || (error instanceof Error && "cause" in error)) {
    return new KeySetUnavailableError(`cannot get the issuer's keys (AUTH_JWKS_URL): ${String(error)}`);
  }
  return new AuthenticationError(`the JWT is not valid${fresh}`);
}

/** A PEM public key (SPKI) or a JWK or JWKS in JSON, as a key set. */
function readKeyFile(path: string): JSONWebKeySet {
  const fail = (why: string) =>
    new ConfigError(`invalid configuration:\n  AUTH_JWT_PUBLIC_KEY_FILE: ${path}: ${why}`);
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch (error) {
    throw fail(`cannot read it (${(error as Error).message})`);
  }
  if (text.startsWith("{")) {
    let parsed: { keys?: JWK[] } & JWK;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw fail(`not valid JSON (${(error as Error).message})`);
    }
    const keys = Array.isArray(parsed.keys) ? parsed.keys : [parsed];
    if (keys.length === 0 || keys.some((key) => typeof key.kty !== "string" || "d" in key)) {
      throw fail("must be a public JWK or a JWKS ({keys: [...]}) of public keys");
    }
    return { keys };
  }
  try {
    const key = createPublicKey(text);
    return { keys: [key.export({ format: "jwk" }) as JWK] };
  } catch (error) {
    throw fail(`not a PEM public key (-----BEGIN PUBLIC KEY-----): ${(error as Error).message}`);
  }
}
