// What kubeconform and `docker-compose config` cannot see in the deploy files: that the settings they
// give pa pass pa's own validation, that they mean what their comments say (shared processing,
// loopback-only ports, a grace period longer than the shutdown), and that the Kubernetes objects
// name each other correctly.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { parseConfig } from "../../server/config/config.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const read = (file: string) => readFileSync(join(root, file), "utf8");

type Env = Record<string, string>;
type Node = Record<string, unknown>;

/** The value at a path of object keys and array indexes, or undefined. */
function at(node: unknown, ...keys: (string | number)[]): unknown {
  return keys.reduce<unknown>(
    (value, key) => (value as Record<string | number, unknown> | undefined)?.[key],
    node,
  );
}

function asEnv(values: unknown): Env {
  return Object.fromEntries(Object.entries(values as Node).map(([key, value]) => [key, String(value)]));
}

/** The runtime stage's ENV defaults in the Dockerfile, which compose and Kubernetes settings add to. */
function imageEnv(): Env {
  const runtime = read("Dockerfile").split(/^FROM .* AS runtime$/m)[1] ?? "";
  const block = /^ENV ((?:.*\\\n)*.*)$/m.exec(runtime)?.[1] ?? "";
  return Object.fromEntries(
    [...block.matchAll(/([A-Z_]+)=(\S+)/g)].map((m) => [m[1] as string, m[2] as string]),
  );
}

/** The tokens file of the Kubernetes Secret, written where AUTH_TOKENS_FILE can point. */
function tokensFileOf(secret: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), "pa-deploy-tokens-")), "tokens.json");
  writeFileSync(file, String(at(secret, "stringData", "tokens.json")));
  return file;
}

describe("docker-compose.yml", () => {
  const compose = parseYaml(read("docker-compose.yml"), { merge: true }) as Node;
  const services = compose.services as Record<string, Node>;
  const replicas = ["pa-1", "pa-2"].map((name) => services[name]);

  it("runs two pa with the same settings, sharing processing through one group and one database", () => {
    const [one, two] = replicas.map((service) => asEnv(service?.environment));
    expect(one).toEqual(two);
    const config = parseConfig({ ...imageEnv(), ...one });
    expect(config.kafka.shareProcessing).toBe(true);
    expect(config.store.databaseUrl).toMatch(/^postgres:\/\/.*@postgres:5432\//);
    expect(config.server.host).toBe("0.0.0.0");
    // Needed on 0.0.0.0 without authentication; the ports below make it this machine's alone.
    expect(config.auth).toMatchObject({ mode: "none", allowInsecure: true });
    expect(config.server.shutdownTimeoutMs).toBeLessThan(30_000);
    expect(replicas.map((service) => service?.stop_grace_period)).toEqual(["30s", "30s"]);
  });

  it("publishes every port on 127.0.0.1 only, each pa on its own host port", () => {
    const published = Object.values(services).flatMap(
      (service) => (service.ports as string[] | undefined) ?? [],
    );
    expect(published.length).toBeGreaterThan(0);
    for (const port of published) expect(port).toMatch(/^127\.0\.0\.1:/);
    expect(replicas.map((service) => service?.ports)).toEqual([
      ["127.0.0.1:50051:50051"],
      ["127.0.0.1:50052:50051"],
    ]);
  });

  it("has Prometheus scrape both replicas on pa's port", () => {
    const prometheus = parseYaml(read("deploy/prometheus/prometheus.yml"));
    const pa = (at(prometheus, "scrape_configs") as Node[]).find((job) => job.job_name === "pa");
    expect(at(pa, "static_configs", 0, "targets")).toEqual(["pa-1:50051", "pa-2:50051"]);
  });
});

describe("deploy/kubernetes", () => {
  const objects = new Map<string, Node>();
  for (const file of (parseYaml(read("deploy/kubernetes/kustomization.yaml")) as { resources: string[] })
    .resources) {
    for (const document of parseAllDocuments(read(join("deploy/kubernetes", file)))) {
      const object = document.toJS() as Node;
      objects.set(String(object.kind), object);
    }
  }
  const get = (kind: string) => objects.get(kind) as Node;
  const deployment = get("Deployment");
  const pod = at(deployment, "spec", "template") as Node;
  const container = at(pod, "spec", "containers", 0) as Node;
  const podLabels = at(pod, "metadata", "labels");

  /** pa's environment in a pod: the image's defaults, the ConfigMap, the Secret's values and files. */
  function podEnv(): Env {
    return {
      ...imageEnv(),
      ...asEnv(at(get("ConfigMap"), "data")),
      DATABASE_URL: String(at(get("Secret"), "stringData", "DATABASE_URL")),
      AUTH_TOKENS_FILE: tokensFileOf(get("Secret")),
    };
  }

  it("gives pa settings that pass its validation: shared processing on PostgreSQL, API keys", () => {
    const config = parseConfig(podEnv());
    expect(config.kafka.shareProcessing).toBe(true);
    expect(config.store.databaseUrl).toBeDefined();
    expect(config.auth.mode).toBe("token");
    expect(config.auth.allowInsecure).toBe(false);
    expect(at(container, "env", 0, "valueFrom", "secretKeyRef", "key")).toBe("DATABASE_URL");
  });

  it("waits longer than the preStop pause plus SHUTDOWN_TIMEOUT before killing a pod", () => {
    const config = parseConfig(podEnv());
    const preStop = at(container, "lifecycle", "preStop", "exec", "command") as string[];
    expect(preStop[0]).toBe("sleep");
    const pauseMs = Number(preStop[1]) * 1000;
    const graceMs = Number(at(pod, "spec", "terminationGracePeriodSeconds")) * 1000;
    expect(graceMs).toBeGreaterThan(pauseMs + config.server.shutdownTimeoutMs);
  });

  it("mounts the tokens file where AUTH_TOKENS_FILE points", () => {
    const mount = (container.volumeMounts as Node[]).find((m) => m.name === "auth");
    const items = at(
      (at(pod, "spec", "volumes") as Node[]).find((v) => v.name === "auth"),
      "secret",
      "items",
    ) as Node[];
    expect(`${mount?.mountPath}/${items[0]?.path}`).toBe(at(get("ConfigMap"), "data", "AUTH_TOKENS_FILE"));
  });

  it("probes /healthz and /readyz on the one port the Service exposes as h2c", () => {
    expect(at(container, "livenessProbe", "httpGet", "path")).toBe("/healthz");
    expect(at(container, "startupProbe", "httpGet", "path")).toBe("/healthz");
    expect(at(container, "readinessProbe", "httpGet", "path")).toBe("/readyz");
    const ports = container.ports as Node[];
    expect(ports).toHaveLength(1);
    expect(at(container, "readinessProbe", "httpGet", "port")).toBe(ports[0]?.name);
    const servicePorts = at(get("Service"), "spec", "ports") as Node[];
    expect(servicePorts).toHaveLength(1);
    expect(servicePorts[0]).toMatchObject({ targetPort: ports[0]?.name, appProtocol: "kubernetes.io/h2c" });
    expect(String(ports[0]?.containerPort)).toBe(at(get("ConfigMap"), "data", "GRPC_PORT"));
  });

  it("selects pa's pods from the Deployment, Service and PDB, the Deployment from the HPA, the Service from the ServiceMonitor", () => {
    expect(podLabels).toMatchObject(at(deployment, "spec", "selector", "matchLabels") as Node);
    expect(podLabels).toMatchObject(at(get("Service"), "spec", "selector") as Node);
    expect(podLabels).toMatchObject(
      at(get("PodDisruptionBudget"), "spec", "selector", "matchLabels") as Node,
    );
    expect(at(get("HorizontalPodAutoscaler"), "spec", "scaleTargetRef")).toMatchObject({
      kind: "Deployment",
      name: at(deployment, "metadata", "name"),
    });
    const monitor = get("ServiceMonitor");
    expect(at(get("Service"), "metadata", "labels")).toMatchObject(
      at(monitor, "spec", "selector", "matchLabels") as Node,
    );
    expect(at(monitor, "spec", "endpoints", 0, "port")).toBe(at(get("Service"), "spec", "ports", 0, "name"));
    expect(at(monitor, "spec", "endpoints", 0, "authorization", "credentials")).toEqual({
      name: at(get("Secret"), "metadata", "name"),
      key: "metrics-key",
    });
    expect(at(get("Secret"), "stringData", "metrics-key")).toBeDefined();
  });

  it("runs as a non-root user on a read-only root filesystem, with no API token", () => {
    expect(at(pod, "spec", "securityContext", "runAsNonRoot")).toBe(true);
    expect(at(container, "securityContext")).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(at(pod, "spec", "automountServiceAccountToken")).toBe(false);
  });
});
