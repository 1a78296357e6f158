// Serves the built dashboard (web/dist) on pa's one port, so a browser needs nothing but pa. Only
// GET and HEAD requests that no RPC or probe claimed reach it. Vite puts content-hashed files under
// /assets/, which never change and are cached for a year; everything else (index.html above all) is
// revalidated, so a new build shows up on the next load. A browser navigation (Accept: text/html)
// to a path without a file extension that names no file is a client-side route and gets
// index.html; anything else that names no file is a 404 (an unknown RPC path stays a 404).
import { existsSync } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { packageRoot } from "../package-root.js";

/** Where `npm run build:web` writes the dashboard. */
export const DEFAULT_WEB_ROOT = path.join(packageRoot(import.meta.url), "web", "dist");

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webmanifest": "application/manifest+json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "no-cache";

// The little of Node's HTTP/1.1 and HTTP/2 request and response that serving a file uses.
interface Request {
  method?: string | undefined;
  url?: string | undefined;
  headers?: { accept?: string | undefined };
}
interface Response {
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(body: string | Uint8Array): unknown;
  readonly headersSent: boolean;
}

export type StaticFileHandler = (request: Request, response: Response) => boolean;

/**
 * A handler for the files under root. It returns false (and leaves the response alone) when the
 * request is not a GET or HEAD or when root holds no index.html, so the caller answers 404 as
 * before the dashboard was built; otherwise it answers and returns true.
 */
export function staticFiles(root: string = DEFAULT_WEB_ROOT): StaticFileHandler {
  const absoluteRoot = path.resolve(root);
  return (request, response) => {
    if (request.method !== "GET" && request.method !== "HEAD") return false;
    if (!existsSync(path.join(absoluteRoot, "index.html"))) return false;
    serve(absoluteRoot, request, response).catch((error: unknown) => {
      if (!response.headersSent) plain(response, 500, `could not read the file: ${String(error)}`);
      else response.end("");
    });
    return true;
  };
}

async function serve(root: string, request: Request, response: Response): Promise<void> {
  const head = request.method === "HEAD";
  let urlPath: string;
  try {
    urlPath = decodeURIComponent(new URL(request.url ?? "/", "http://pa").pathname);
  } catch {
    plain(response, 400, "the path is not valid percent-encoding");
    return;
  }
  if (urlPath.includes("\0")) {
    plain(response, 400, "the path contains a NUL byte");
    return;
  }
  const file = await resolveFile(root, urlPath);
  if (file === "outside") {
    plain(response, 404, `no file at ${urlPath}`);
    return;
  }
  const navigation = (request.headers?.accept ?? "").includes("text/html");
  const route = urlPath === "/" || (navigation && path.extname(urlPath) === "");
  const target = file ?? (route ? path.join(root, "index.html") : undefined);
  if (!target) {
    plain(response, 404, `no file at ${urlPath}`);
    return;
  }
  // The dashboard's files are small (the largest is about 250 kB): read whole, sent in one piece.
  const [info, body] = await Promise.all([stat(target), head ? undefined : readFile(target)]);
  const hashed = target.startsWith(path.join(root, "assets") + path.sep);
  response.writeHead(200, {
    "content-type": CONTENT_TYPES[path.extname(target).toLowerCase()] ?? "application/octet-stream",
    "content-length": info.size,
    "cache-control": hashed ? IMMUTABLE : REVALIDATE,
    "last-modified": info.mtime.toUTCString(),
    "x-content-type-options": "nosniff",
  });
  response.end(body ?? "");
}

/**
 * The regular file the URL path names inside root; undefined when there is none; "outside" when the
 * path (or a symbolic link on it) leads out of root.
 */
async function resolveFile(root: string, urlPath: string): Promise<string | undefined | "outside"> {
  const candidate = path.resolve(root, `.${path.posix.normalize(`/${urlPath}`)}`);
  if (!isInside(root, candidate)) return "outside";
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    return undefined;
  }
  if (!isInside(await realpath(root), real)) return "outside";
  const info = await stat(real);
  return info.isFile() ? candidate : undefined;
}

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root + path.sep);
}

function plain(response: Response, status: number, text: string): void {
  response.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  response.end(`${text}\n`);
}
