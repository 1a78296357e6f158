// Turns CustomResourceDefinitions into the JSON schemas kubeconform validates custom resources
// with, as kubeconform's openapi2jsonschema does: each served version's openAPIV3Schema, strict
// (no field that the CRD does not declare), written to OUT/<group>/<kind>_<version>.json, which
// `-schema-location 'OUT/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'` finds.
//
//   node --import tsx scripts/crd-to-json-schema.ts OUT CRD.yaml...
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";

type Schema = { [key: string]: unknown };

interface Crd {
  kind: string;
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; served?: boolean; schema?: { openAPIV3Schema?: Schema } }[];
  };
}

function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * OpenAPI v3 as Kubernetes writes it, into JSON Schema as kubeconform reads it: `nullable` becomes
 * a "null" type, `x-kubernetes-int-or-string` a string-or-integer, and every object that lists its
 * properties refuses others unless it says it keeps unknown fields.
 */
function toStrictJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toStrictJsonSchema);
  if (!isSchema(node)) return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    // `properties` maps field names to schemas: its keys are names, not keywords.
    out[key] =
      key === "properties" && isSchema(value)
        ? Object.fromEntries(
            Object.entries(value).map(([name, schema]) => [name, toStrictJsonSchema(schema)]),
          )
        : toStrictJsonSchema(value);
  }
  if (out["x-kubernetes-int-or-string"] === true) {
    delete out.type;
    out.oneOf = [{ type: "string" }, { type: "integer" }];
  }
  if (out.nullable === true && typeof out.type === "string") out.type = [out.type, "null"];
  if (isSchema(out.properties) && out.additionalProperties === undefined) {
    if (out["x-kubernetes-preserve-unknown-fields"] !== true) out.additionalProperties = false;
  }
  return out;
}

function main(outDir: string, files: string[]): void {
  if (!outDir || files.length === 0) {
    console.error("usage: crd-to-json-schema.ts OUT_DIR CRD.yaml...");
    process.exit(2);
  }
  for (const file of files) {
    for (const document of parseAllDocuments(readFileSync(file, "utf8"))) {
      const crd = document.toJS() as Crd | null;
      if (crd?.kind !== "CustomResourceDefinition") continue;
      const { group, names, versions } = crd.spec;
      for (const version of versions) {
        const schema = version.schema?.openAPIV3Schema;
        if (!schema || version.served === false) continue;
        const target = path.join(outDir, group, `${names.kind.toLowerCase()}_${version.name}.json`);
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, `${JSON.stringify(toStrictJsonSchema(schema), null, 2)}\n`);
        console.log(`${file} -> ${target}`);
      }
    }
  }
}

main(process.argv[2] ?? "", process.argv.slice(3));
