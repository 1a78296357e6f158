// What the dashboard's browser tests share: the Chromium that scripts/chromium.sh finds or installs
// (never a downloaded browser), its flags for a headless run without network side-traffic, where
// screenshots go, and the build of web/dist that pa serves.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export { CHROMIUM_ARGS, chromiumPath } from "../../../scripts/lib/chromium.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));
export const SCREENSHOT_DIR = fileURLToPath(new URL("../../../test-results/screenshots", import.meta.url));

/** Builds web/dist from the current sources (about a second), as `npm run build:web` does. */
export function buildDashboard(): void {
  execFileSync(process.execPath, ["node_modules/vite/bin/vite.js", "build", "web", "--logLevel", "warn"], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
  });
}
