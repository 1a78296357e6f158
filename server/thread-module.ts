// pa's worker threads run modules of its own code, typed and linted like the rest. Compiled (dist/:
// `npm start`, the image), a thread's module is the .js file beside its caller, and Node runs it as
// it is. From the TypeScript sources (tsx: dev, the benchmarks; vitest) it is the .ts file, which a
// new thread cannot load by itself: neither `node --import tsx` (Node 20) nor vitest's transform
// reaches a worker thread. There the thread starts through a two-line bootstrap that registers
// tsx's loader first, then imports the module; tsx is installed wherever the sources run.
import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * Starts a worker thread running the module `name` (a path relative to `callerUrl`, the caller's
 * `import.meta.url`, without extension, e.g. "./sqlite-writer-thread"), taking the caller's own
 * extension: .js when compiled, .ts from the sources.
 */
export function startThreadModule(callerUrl: string, name: string, options: WorkerOptions): Worker {
  const fromSources = callerUrl.endsWith(".ts");
  const module = new URL(`${name}${fromSources ? ".ts" : ".js"}`, callerUrl);
  if (!fromSources) return new Worker(module, options);
  const tsx = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  const bootstrap = `import(${tsx}).then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
