// The CRD-to-JSON-schema conversion validate-deploy.sh checks the ServiceMonitor with: strict where
// the CRD lists its fields, open where it keeps unknown ones, and Kubernetes' OpenAPI extensions
// turned into what a JSON Schema validator understands.
import { describe, expect, it } from "vitest";
import { crdSchemas, toStrictJsonSchema } from "../../../scripts/lib/crd-json-schema.js";

const crd = `
apiVersion: v1
kind: ConfigMap
metadata: { name: not-a-crd }
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.example.com }
spec:
  group: example.com
  names: { kind: Widget, plural: widgets }
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                port: { x-kubernetes-int-or-string: true }
                note: { type: string, nullable: true }
                extra:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                  properties: { known: { type: string } }
                labels:
                  type: object
                  additionalProperties: { type: string }
    - name: v1alpha1
      served: false
      storage: false
      schema:
        openAPIV3Schema: { type: object }
`;

describe("crdSchemas", () => {
  it("gives one schema per served version, named as kubeconform's template looks it up", () => {
    expect(crdSchemas(crd).map((s) => s.path)).toEqual(["example.com/widget_v1.json"]);
  });

  it("finds nothing in a text without a CRD", () => {
    expect(crdSchemas("apiVersion: v1\nkind: Service\n")).toEqual([]);
  });
});

/** The value at a path of object keys, or undefined. */
function at(node: unknown, ...keys: string[]): unknown {
  return keys.reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], node);
}

describe("toStrictJsonSchema", () => {
  const root = crdSchemas(crd)[0]?.schema;
  const spec = at(root, "properties", "spec");

  it("refuses undeclared fields of objects that list their properties, at every depth", () => {
    expect(at(root, "additionalProperties")).toBe(false);
    expect(at(spec, "additionalProperties")).toBe(false);
  });

  it("keeps objects open that keep unknown fields, and map schemas as they are", () => {
    expect(at(spec, "properties", "extra", "additionalProperties")).toBeUndefined();
    expect(at(spec, "properties", "labels", "additionalProperties")).toEqual({ type: "string" });
  });

  it("turns int-or-string into a string or an integer, and nullable into a null type", () => {
    expect(at(spec, "properties", "port", "oneOf")).toEqual([{ type: "string" }, { type: "integer" }]);
    expect(at(spec, "properties", "note", "type")).toEqual(["string", "null"]);
  });

  it("treats a field named like a keyword as a field", () => {
    const schema = toStrictJsonSchema({
      type: "object",
      properties: { properties: { type: "object", properties: { a: { type: "string" } } } },
    });
    expect(at(schema, "properties", "properties", "additionalProperties")).toBe(false);
    expect(at(schema, "properties", "properties", "properties", "a")).toEqual({ type: "string" });
  });
});
