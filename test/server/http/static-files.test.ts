// The dashboard's file server on a real HTTP server on port 0, over files in a temporary folder.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staticFiles } from "../../../server/http/static-files.js";

let server: Server;
let base: string;
const outside = mkdtempSync(join(tmpdir(), "pa-static-outside-"));
writeFileSync(join(outside, "secret.txt"), "TOP-SECRET-CONTENT");

/** A raw request, so paths like /../x reach the server as written. */
function get(
  path: string,
  method = "GET",
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, path, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("staticFiles", () => {
  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), "pa-static-"));
    mkdirSync(join(root, "assets"));
    writeFileSync(join(root, "index.html"), "<!doctype html><title>dash</title>");
    writeFileSync(join(root, "assets", "index-abc123.js"), "console.log(1)");
    writeFileSync(join(root, "assets", "index-abc123.css"), "body{}");
    writeFileSync(join(root, "robots.txt"), "ok");
    symlinkSync(join(outside, "secret.txt"), join(root, "leak.txt"));
    const serve = staticFiles(root);
    server = createServer((req, res) => {
      if (serve(req, res)) return;
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not mine");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("serves index.html at / and revalidates it", async () => {
    const res = await get("/");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["cache-control"]).toBe("no-cache");
    expect(res.body).toContain("<title>dash</title>");
  });

  it("serves hashed assets with their type, cached for a year", async () => {
    const js = await get("/assets/index-abc123.js");
    expect(js.status).toBe(200);
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(js.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(js.body).toBe("console.log(1)");
    expect((await get("/assets/index-abc123.css")).headers["content-type"]).toBe("text/css; charset=utf-8");
    expect((await get("/robots.txt")).headers["cache-control"]).toBe("no-cache");
  });

  it("answers a browser's client-side routes with index.html, but a missing file with 404", async () => {
    const html = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
    const route = await get("/topics/payments?x=1", "GET", html);
    expect(route.status).toBe(200);
    expect(route.body).toContain("<title>dash</title>");
    expect((await get("/assets/gone-123.js", "GET", html)).status).toBe(404);
    // Not a navigation (an RPC client's GET to a path no service has): 404, never the page.
    expect((await get("/payment.PaymentService/NoSuchMethod?encoding=json")).status).toBe(404);
  });

  it("answers HEAD without a body", async () => {
    const res = await get("/assets/index-abc123.js", "HEAD");
    expect(res.status).toBe(200);
    expect(res.headers["content-length"]).toBe("14");
    expect(res.body).toBe("");
  });

  it("never leaves its folder", async () => {
    for (const path of [
      "/../secret.txt",
      "/%2e%2e/%2e%2e/etc/passwd",
      "/assets/..%2f..%2fsecret.txt",
      "/leak.txt",
    ]) {
      const res = await get(path);
      expect(res.body, path).not.toContain("TOP-SECRET-CONTENT");
      expect(res.body, path).not.toContain("root:");
    }
    expect((await get("/leak.txt")).status).toBe(404);
    expect((await get("/%E0%A4%A")).status).toBe(400);
    expect((await get("/a%00b.js")).status).toBe(400);
  });

  it("leaves other methods to the caller", async () => {
    const res = await get("/", "POST");
    expect(res.status).toBe(404);
    expect(res.body).toBe("not mine");
  });

  it("leaves everything to the caller while no dashboard is built", () => {
    const serve = staticFiles(join(tmpdir(), "pa-no-such-dist"));
    expect(serve({ method: "GET", url: "/" }, {} as never)).toBe(false);
  });
});
