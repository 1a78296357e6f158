// When a caller's credential (a JWT's `exp`) runs out, its open streams end: they were authorized
// for as long as the credential was valid, no longer.
import type { Identity } from "./identity.js";

// Node timers hold at most ~24.8 days; a longer-lived credential re-arms on the way.
const MAX_TIMER_MS = 2_147_483_647;

/** Calls `expired` once the identity's credential expires (never, without expiresAtMs). Returns a cancel. */
export function onCredentialExpiry(identity: Identity, expired: () => void): () => void {
  const expiresAtMs = identity.expiresAtMs;
  if (expiresAtMs === undefined) return () => {};
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const left = expiresAtMs - Date.now();
    if (left <= 0) {
      expired();
      return;
    }
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
