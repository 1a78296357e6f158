// pa's files outside its code (web/dist, package.json) are found from the package's root, which is
// the same whether pa runs from its TypeScript sources (server/...) or compiled (dist/server/...).
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The nearest folder above `moduleUrl` (an `import.meta.url`) that holds a package.json. */
export function packageRoot(moduleUrl: string): string {
  let folder = path.dirname(fileURLToPath(moduleUrl));
  while (!existsSync(path.join(folder, "package.json"))) {
    const parent = path.dirname(folder);
    if (parent === folder) throw new Error(`no package.json above ${fileURLToPath(moduleUrl)}`);
    folder = parent;
  }
  return folder;
}
