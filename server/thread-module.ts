// pa's worker threads run modules of its own code, typed and linted like the rest. Compiled (dist/:
// `npm start`, the image), a thread's module is the .js file beside its caller, and Node runs it as
// it is. From the TypeScript sources (tsx: dev, the benchmarks; vitest) it is the .ts file, which a
// new thread cannot load by itself: neither `node --import tsx` (Node 20) nor vitest's transform
// reaches a worker thread. There the thread starts through a one-line bootstrap that registers
// tsx's loader first, then loads the module; tsx is installed wherever the sources run. It is tsx's
// require hook, which runs in the thread itself: its ESM loader (module.register) starts one more
// thread per worker to run the hooks in, and a thread took 200 ms of CPU to start instead of 90
// (plain Node: 30), which every store a test opens paid twice. The thread modules use nothing that
// needs ESM (no top-level await, no import.meta).
import { createRequire } from "node:module";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { type MessagePort, parentPort, Worker, type WorkerOptions, workerData } from "node:worker_threads";

/**
 * Starts a worker thread running the module `name` (a path relative to `callerUrl`, the caller's
 * `import.meta.url`, without extension, e.g. "./sqlite-writer-thread"), taking the caller's own
 * extension: .js when compiled, .ts from the sources. The thread is named after the module (the
 * inspector's title for it: "[worker 1] sqlite-writer-thread").
 */
export function startThreadModule(callerUrl: string, name: string, options: WorkerOptions): Worker {
  const fromSources = callerUrl.endsWith(".ts");
  const module = new URL(`${name}${fromSources ? ".ts" : ".js"}`, callerUrl);
  const named: WorkerOptions = { name: basename(name), ...options };
  if (!fromSources) return new Worker(module, named);
  const tsx = JSON.stringify(createRequire(import.meta.url).resolve("tsx/cjs/api"));
  const bootstrap = `require(${tsx}).register(); require(${JSON.stringify(fileURLToPath(module))});`;
  return new Worker(bootstrap, { ...named, eval: true });
}

/**
 * Runs a thread module: `serve` gets the port to its starter and the workerData it was started
 * with. Outside a worker thread it throws, naming the module (`name`).
 */
export function serveThread<Data>(name: string, serve: (port: MessagePort, data: Data) => void): void {
  if (!parentPort) throw new Error(`${name} runs only as a worker thread (see startThreadModule)`);
  try {
    serve(parentPort, workerData as Data);
  } catch (error) {
    // Node hands a thread's uncaught error to the starter's "error" event by value, and of an
    // error class it does not know it keeps only the own properties: better-sqlite3's SqliteError
    // arrived as { code } with no message ("the SQLite writer thread failed: undefined").
    throw new Error(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  }
}
