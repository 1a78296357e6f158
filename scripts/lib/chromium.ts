// The Chromium that the dashboard's browser tests and benchmark drive (playwright-core downloads
// none): found or installed by scripts/chromium.sh, which says what to install when it cannot.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../chromium.sh", import.meta.url));

/** Flags for a headless run without network side-traffic. */
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

/** The browser's path; throws scripts/chromium.sh's message when there is none. */
export function chromiumPath(): string {
  const result = spawnSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (result.status !== 0)
    throw new Error(result.stderr.trim() || `${script} failed (exit ${result.status})`);
  return result.stdout.trim();
}
