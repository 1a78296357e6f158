// CustomResourceDefinitions into the JSON schemas kubeconform validates custom resources with, as
// kubeconform's openapi2jsonschema does: each served version's openAPIV3Schema, made strict (no
// field that the CRD does not declare), named <group>/<kind>_<version>.json, which kubeconform finds
// with `-schema-location 'DIR/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'`.
import { parseAllDocuments } from "yaml";

type Schema = { [key: string]: unknown };

interface Crd {
  kind?: string;
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; served?: boolean; schema?: { openAPIV3Schema?: Schema } }[];
  };
}

export interface CrdSchema {
  /** Relative path kubeconform's template above resolves to. */
  path: string;
  schema: unknown;
}

function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * OpenAPI v3 as Kubernetes writes it, into JSON Schema as kubeconform reads it: `nullable` becomes
 * a "null" type, `x-kubernetes-int-or-string` a string-or-integer, and every object that lists its
 * properties refuses others unless it says it keeps unknown fields.
 */
export function toStrictJsonSchema(node: unknown): unknown {
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

/** The schemas of every served version of every CRD in a YAML text (other documents are ignored). */
export function crdSchemas(yamlText: string): CrdSchema[] {
  const schemas: CrdSchema[] = [];
  for (const document of parseAllDocuments(yamlText)) {
    const crd = document.toJS() as Crd | null;
    if (crd?.kind !== "CustomResourceDefinition") continue;
    const { group, names, versions } = crd.spec;
    for (const version of versions) {
      const schema = version.schema?.openAPIV3Schema;
      if (!schema || version.served === false) continue;
      schemas.push({
        path: `${group}/${names.kind.toLowerCase()}_${version.name}.json`,
        schema: toStrictJsonSchema(schema),
      });
    }
  }
  return schemas;
}
