// Starts a TypeScript module of the benchmark in a worker thread. The benchmark runs under tsx;
// Node 20 does not pass --import hooks on to workers, so the thread registers tsx's loader itself
// before it imports the module.
import { Worker, type WorkerOptions } from "node:worker_threads";

const tsxApi = import.meta.resolve("tsx/esm/api");

export function startTsWorker(module: URL, options: Omit<WorkerOptions, "eval"> = {}): Worker {
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
