// Writes the kubeconform schemas of CustomResourceDefinitions (scripts/lib/crd-json-schema.ts) to
// OUT_DIR/<group>/<kind>_<version>.json; scripts/validate-deploy.sh runs it on the ServiceMonitor CRD.
//
//   node --import tsx scripts/crd-to-json-schema.ts OUT_DIR CRD.yaml...
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { crdSchemas } from "./lib/crd-json-schema.js";

const [outDir, ...files] = process.argv.slice(2);
if (!outDir || files.length === 0) {
  console.error("usage: crd-to-json-schema.ts OUT_DIR CRD.yaml...");
  process.exit(2);
}
for (const file of files) {
  const schemas = crdSchemas(readFileSync(file, "utf8"));
  if (schemas.length === 0) {
    console.error(`${file} holds no CustomResourceDefinition with a served version's schema`);
    process.exit(1);
  }
  for (const { path: relative, schema } of schemas) {
    const target = path.join(outDir, relative);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, `${JSON.stringify(schema, null, 2)}\n`);
    console.log(`${file} -> ${target}`);
  }
}
