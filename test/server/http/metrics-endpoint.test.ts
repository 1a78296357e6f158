import { describe, expect, it } from "vitest";
import { ANONYMOUS, AuthenticationError, type Identity } from "../../../server/auth/identity.js";
import { isLoopback, metricsAccess } from "../../../server/http/metrics-endpoint.js";

const reader: Identity = {
  name: "dashboard",
  kind: "token",
  grants: { readTopics: ["*"], pii: false, admin: false, metrics: false },
};
const scraper: Identity = { ...reader, name: "prometheus", grants: { ...reader.grants, metrics: true } };

const from = (remoteAddress: string) => ({ url: "/metrics", method: "GET", socket: { remoteAddress } });

describe("metricsAccess", () => {
  it("lets loopback peers in without asking who they are", async () => {
    const identify = () => Promise.reject(new AuthenticationError("no credential"));
    for (const address of ["127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"]) {
      expect(await metricsAccess(from(address), identify), address).toEqual({ allowed: true });
    }
  });

  it("asks anyone else for an identity with the metrics grant", async () => {
    const peer = from("10.1.2.3");
    expect(await metricsAccess(peer, () => Promise.resolve(scraper))).toEqual({ allowed: true });
    // AUTH_MODE=none: every caller is ANONYMOUS, which has every grant.
    expect(await metricsAccess(peer, () => Promise.resolve(ANONYMOUS))).toEqual({ allowed: true });
    const denied = await metricsAccess(peer, () => Promise.resolve(reader));
    expect(denied).toMatchObject({ allowed: false, status: 403 });
    expect(denied.allowed ? "" : denied.reason).toMatch(/dashboard lacks the "metrics" grant/);
    const unauthenticated = await metricsAccess(peer, () =>
      Promise.reject(new AuthenticationError("no credential: send authorization: Bearer <API key>")),
    );
    expect(unauthenticated).toMatchObject({ allowed: false, status: 401 });
  });

  it("does not take addresses that merely start like loopback ones", () => {
    expect(isLoopback("127.0.0.1")).toBe(true);
    expect(isLoopback("::ffff:10.0.0.1")).toBe(false);
    expect(isLoopback("1270.0.0.1")).toBe(false);
    expect(isLoopback(undefined)).toBe(false);
  });
});
