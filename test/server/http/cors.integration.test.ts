// CORS_ORIGINS against a running pa: preflights and actual requests from an allowed origin get the
// CORS headers a browser needs (authorization allowed, pa-resume-cursor and grpc-status exposed);
// any other origin gets none. Spoken with curl, as an operator checks it, and with fetch.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type RunningPa, startPa } from "../../support/pa.js";

const bootstrap = inject("kafkaBootstrap");
const run = promisify(execFile);
const allowed = "https://dash.example.com";
const other = "https://evil.example.com";
const getTopics = "/payment.PaymentService/GetTopics";

/** curl's answer as a status and lower-cased headers. */
async function curl(args: string[]): Promise<{ status: number; headers: Record<string, string> }> {
  const { stdout } = await run("curl", ["-sS", "-o", "/dev/null", "-D", "-", ...args]);
  const [statusLine, ...lines] = stdout.trim().split(/\r?\n/);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine?.split(" ")[1]), headers };
}

const preflight = (pa: RunningPa, origin: string) =>
  curl([
    "-X",
    "OPTIONS",
    "-H",
    `Origin: ${origin}`,
    "-H",
    "Access-Control-Request-Method: POST",
    "-H",
    "Access-Control-Request-Headers: authorization, content-type, connect-protocol-version",
    `${pa.baseUrl}${getTopics}`,
  ]);

describe("CORS", () => {
  let pa: RunningPa;
  let closed: RunningPa;

  beforeAll(async () => {
    pa = await startPa(bootstrap, { CORS_ORIGINS: `${allowed}, http://localhost:5173` });
    closed = await startPa(bootstrap);
  });

  afterAll(async () => {
    await pa?.stop();
    await closed?.stop();
  });

  it("answers an allowed origin's preflight with 204 and what Connect, gRPC-Web and pa need", async () => {
    const { status, headers } = await preflight(pa, allowed);
    expect(status).toBe(204);
    expect(headers["access-control-allow-origin"]).toBe(allowed);
    expect(headers["access-control-allow-methods"]).toContain("POST");
    const allowHeaders = headers["access-control-allow-headers"]?.toLowerCase().split(/,\s*/);
    expect(allowHeaders).toEqual(
      expect.arrayContaining(["authorization", "content-type", "connect-protocol-version", "x-grpc-web"]),
    );
    expect(headers.vary).toContain("Origin");
    expect(headers["access-control-max-age"]).toBe("7200");
  });

  it("refuses another origin's preflight without any CORS header", async () => {
    const { status, headers } = await preflight(pa, other);
    expect(status).toBe(403);
    expect(headers["access-control-allow-origin"]).toBeUndefined();
    expect(headers["access-control-allow-headers"]).toBeUndefined();
  });

  it("gives an allowed origin's actual request its origin and the exposed headers; another origin none", async () => {
    const call = (origin: string) =>
      fetch(`${pa.baseUrl}${getTopics}`, {
        method: "POST",
        headers: { origin, "content-type": "application/json", "connect-protocol-version": "1" },
        body: "{}",
      });
    const ok = await call(allowed);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(allowed);
    const exposed = ok.headers.get("access-control-expose-headers")?.toLowerCase().split(/,\s*/);
    expect(exposed).toEqual(expect.arrayContaining(["pa-resume-cursor", "grpc-status", "grpc-message"]));
    const refused = await call(other);
    expect(refused.status).toBe(200);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    expect(refused.headers.get("access-control-expose-headers")).toBeNull();
  });

  it("sends no CORS header at all when CORS_ORIGINS is empty", async () => {
    const { headers } = await preflight(closed, allowed);
    expect(headers["access-control-allow-origin"]).toBeUndefined();
  });
});
