import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { PaymentService } from "../../../gen/payment/payment_pb.js";
import { type RunningPa, startPa } from "../../support/pa.js";

const bootstrap = inject("kafkaBootstrap");
const run = promisify(execFile);

describe("TLS on the one port (TLS_CERT, TLS_KEY)", () => {
  let pa: RunningPa;
  let ca: Buffer;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "pa-tls-"));
    const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      key,
      "-out",
      cert,
    ]);
    ca = readFileSync(cert);
    pa = await startPa(bootstrap, { TLS_CERT: cert, TLS_KEY: key, HTTP_HEADERS_TIMEOUT: "1s" });
  });
  afterAll(async () => {
    await pa?.stop();
  });

  it("serves gRPC over HTTP/2 and plain HTTP/1.1 on the same TLS port, chosen by ALPN", async () => {
    const baseUrl = `https://127.0.0.1:${pa.port}`;
    const client = createClient(PaymentService, createGrpcTransport({ baseUrl, nodeOptions: { ca } }));
    expect((await client.getTopics({})).count).toBe(0);

    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(`${baseUrl}/healthz`, { ca }, (response) => {
          let text = "";
          response.on("data", (chunk) => {
            text += chunk;
          });
          response.on("end", () => resolve(`${response.httpVersion} ${response.statusCode} ${text}`));
        })
        .on("error", reject);
    });
    expect(body).toBe('1.1 200 {"status":"alive"}');
  });

  it("cuts off a slowloris client over TLS too", async () => {
    const socket = tls.connect({ host: "127.0.0.1", port: pa.port, ca, ALPNProtocols: ["http/1.1"] });
    socket.on("error", () => {});
    await new Promise((resolve) => socket.once("secureConnect", resolve));
    const started = Date.now();
    const closed = new Promise<number>((resolve) =>
      socket.once("close", () => resolve(Date.now() - started)),
    );
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write("x");
    }, 100);
    socket.write("GET /healthz HTTP/1.1\r\nHost: pa\r\nX-Slow: ");
    const elapsed = await closed;
    clearInterval(trickle);
    expect(elapsed).toBeGreaterThanOrEqual(800);
    expect(elapsed).toBeLessThan(10_000);
  });
});
