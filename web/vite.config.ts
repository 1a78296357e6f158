// The dashboard's build and dev server. `npm run build:web` writes web/dist, which pa serves on its
// one port at "/". `npm run dev` runs this dev server with hot reload and proxies the RPC and probe
// paths to the pa it started (PA_URL), so the page talks to pa as it does when pa serves it.
import { defineConfig } from "vite";

const paUrl = process.env.PA_URL ?? "http://127.0.0.1:50051";
const proxied = ["/payment.PaymentService", "/pa.admin.v1.DeadLetterService", "/healthz", "/readyz"];

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // The charts library is the largest piece; the report says what each chunk costs.
    reportCompressedSize: true,
  },
  server: {
    host: "127.0.0.1",
    proxy: Object.fromEntries(proxied.map((path) => [path, { target: paUrl, changeOrigin: false }])),
  },
});
