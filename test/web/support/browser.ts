// What the dashboard's browser tests share: Debian's Chromium (never a downloaded browser), its
// flags for a headless run without network side-traffic, where screenshots go, and the build of
// web/dist that pa serves.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CHROMIUM_PATH = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

const root = fileURLToPath(new URL("../../..", import.meta.url));
export const SCREENSHOT_DIR = fileURLToPath(new URL("../../../test-results/screenshots", import.meta.url));

/** Builds web/dist from the current sources (about a second), as `npm run build:web` does. */
export function buildDashboard(): void {
  execFileSync(process.execPath, ["node_modules/vite/bin/vite.js", "build", "web", "--logLevel", "warn"], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
  });
}
