// scripts/validate-deploy.sh, which CI runs on deploy/kubernetes: it passes the committed manifests
// and fails a copy with one mistake in it, naming the mistake, for a built-in kind (the Kubernetes
// schemas) and for the ServiceMonitor (the schema converted from the Prometheus Operator's CRD).
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const manifests = join(root, "deploy", "kubernetes");
const copies: string[] = [];

function validate(kubernetesDir: string): { status: number | null; output: string } {
  const run = spawnSync("bash", ["scripts/validate-deploy.sh", kubernetesDir], {
    cwd: root,
    encoding: "utf8",
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** A copy of deploy/kubernetes with `from` replaced by `to` in `file` (which must contain it). */
function brokenCopy(file: string, from: string, to: string): string {
  const dir = mkdtempSync(join(tmpdir(), "pa-deploy-"));
  copies.push(dir);
  cpSync(manifests, dir, { recursive: true });
  const text = readFileSync(join(dir, file), "utf8");
  expect(text).toContain(from);
  writeFileSync(join(dir, file), text.replace(from, to));
  return dir;
}

afterEach(() => {
  for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("scripts/validate-deploy.sh", () => {
  // The first run on a fresh machine installs kubeconform, kustomize and the schemas.
  it("passes deploy/kubernetes: every resource valid, each file and as kustomize renders them", {
    timeout: 600_000,
  }, () => {
    const { status, output } = validate(manifests);
    expect(output).toMatch(/Summary: 8 resources found in 8 files - Valid: 8, Invalid: 0, Errors: 0/);
    expect(output).toMatch(/Summary: 8 resources found parsing stdin - Valid: 8, Invalid: 0, Errors: 0/);
    expect(output).toContain("docker-compose.yml is valid");
    expect(status).toBe(0);
  });

  it("fails a Deployment with a misspelt field, naming it", () => {
    const dir = brokenCopy(
      "deployment.yaml",
      "terminationGracePeriodSeconds:",
      "terminationGracePeriodSecond:",
    );
    const { status, output } = validate(dir);
    expect(output).toMatch(/Deployment pa is invalid.*'terminationGracePeriodSecond' not allowed/);
    expect(status).not.toBe(0);
  });

  it("fails a ServiceMonitor with a misspelt endpoint field, against the operator's CRD", () => {
    const dir = brokenCopy("servicemonitor.yaml", "scrapeTimeout:", "scrapeTimout:");
    const { status, output } = validate(dir);
    expect(output).toMatch(/ServiceMonitor pa is invalid.*'scrapeTimout' not allowed/);
    expect(status).not.toBe(0);
  });

  it("fails a kind it has no schema for instead of skipping it", () => {
    const dir = brokenCopy(
      "poddisruptionbudget.yaml",
      "kind: PodDisruptionBudget",
      "kind: PodDisruptionBudgit",
    );
    const { status, output } = validate(dir);
    expect(output).toMatch(/PodDisruptionBudgit pa failed validation: could not find schema/);
    expect(status).not.toBe(0);
  });
});
