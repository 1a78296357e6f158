// Whom per-caller limits count against: an authenticated identity by its name (however many
// addresses it calls from), an anonymous caller by its address.
import { createContextKey } from "@connectrpc/connect";
import type { Identity } from "../auth/identity.js";

/** The client connection a call arrived on (socket or HTTP/2 session), for per-connection limits. */
export const connectionKey = createContextKey<object | undefined>(undefined, {
  description: "client connection",
});

/** The client's address (IP), set by the HTTP layer for every call. */
export const peerAddressKey = createContextKey<string | undefined>(undefined, {
  description: "the client's address",
});

/** The caller's limit key, set by the limits interceptor for the handlers after it. */
export const callerKeyContext = createContextKey<string>("address unknown", {
  description: "the key per-caller limits count against",
});

export function callerKey(identity: Identity, peerAddress: string | undefined): string {
  if (identity.kind === "anonymous") return `address ${peerAddress ?? "unknown"}`;
  return `${identity.kind} ${identity.name}`;
}
