# pa's image: the sidecar alone, compiled to JavaScript (`node dist/server/main.js`), with its dashboard.
#
#   docker build -t pa .
#   docker run --rm -p 127.0.0.1:50051:50051 -e KAFKA_BROKERS=broker:9092 -e KAFKA_TOPIC=payments \
#     -e ALLOW_INSECURE=true pa
#
# Every variable of server/config/config.ts can be set with -e; docker-compose.yml runs two pa with a
# broker, PostgreSQL, Prometheus and Grafana; deploy/kubernetes/ runs it in a cluster.
#
# Four stages, so that what changes often rebuilds little:
#   deps       build tools + every dependency (librdkafka compiled): depends on the lockfile alone
#   prod-deps  the production dependencies, pruned and stripped: depends on the lockfile alone
#   build      pa compiled to dist/ and the dashboard to web/dist: depends on the sources
#   runtime    Node, the shared libraries librdkafka links to, prod-deps' node_modules, dist, web/dist
# A code change rebuilds only `build` and the runtime's last layers; the node_modules layer (about
# 63 MB, 16 MB compressed) stays the same, so a push or a pull of a new version moves well under 1 MB.

# Node 24 is the LTS line supported longest (to 2028-04); pa runs on Node 20.19 or newer, so
# --build-arg NODE_IMAGE=node:22-bookworm-slim works too. Bookworm, named, because the runtime
# stage installs Debian packages by their bookworm names.
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- deps: every dependency, native modules compiled against Debian's libraries ----
FROM ${NODE_IMAGE} AS deps
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Debian's package versions are not pinned: a stable release only takes fixes, and pins would break on them.
# hadolint ignore=DL3008
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    g++ make python3 pkg-config binutils \
    libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# @confluentinc/kafka-javascript builds its bundled librdkafka from source, linked to Debian's OpenSSL,
# zstd, lz4, SASL and curl (which Debian keeps patched), instead of downloading a prebuilt, statically
# linked binary; node-gyp takes Node's headers from the image instead of downloading them. This layer
# depends on the lockfile alone, so a code change does not compile librdkafka again (several minutes).
# The dev dependencies (TypeScript, vite) are installed too: the build stage compiles with them.
RUN export CKJS_LINKING=dynamic \
    npm_config_build_from_source=@confluentinc/kafka-javascript \
    npm_config_nodedir=/usr/local \
  && npm ci --no-audit --no-fund \
  && npm cache clean --force

# ---- prod-deps: what pa needs at run time, nothing of how it was built ----
FROM deps AS prod-deps
# Dev dependencies go, then the native modules' sources, objects and static archives, and the
# debugging symbols of the shared objects that stay (librdkafka alone goes from 13 to 3 MB).
# Loading both native modules at the end fails the build if the pruning went too far.
RUN npm prune --omit=dev --no-audit --no-fund \
  && ckjs=node_modules/@confluentinc/kafka-javascript \
  && rm -rf "$ckjs"/deps/librdkafka "$ckjs"/src "$ckjs"/build/Release/obj.target "$ckjs"/build/Release/.deps \
    "$ckjs"/build/deps/include "$ckjs"/build/deps/librdkafka "$ckjs"/build/deps/*.a \
  && sqlite=node_modules/better-sqlite3 \
  && rm -rf "$sqlite"/deps "$sqlite"/src "$sqlite"/build/Release/obj "$sqlite"/build/Release/obj.target \
    "$sqlite"/build/Release/.deps "$sqlite"/build/Release/*.a "$sqlite"/build/Release/test_extension.node \
  && find "$ckjs"/build "$sqlite"/build -type f \( -name '*.so*' -o -name '*.node' \) \
    -exec strip --strip-unneeded {} + \
  && node -e 'const k = require("@confluentinc/kafka-javascript"); require("better-sqlite3"); console.log("librdkafka", k.librdkafkaVersion, k.features.join(","))'

# ---- build: pa compiled to dist/, the dashboard to web/dist ----
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY gen ./gen
COPY server ./server
COPY cli ./cli
COPY client ./client
COPY web ./web
RUN npm run build && npm run build:web -- --logLevel warn

# ---- runtime: Node, the shared libraries librdkafka links to, and pa ----
FROM ${NODE_IMAGE} AS runtime
# The libraries librdkafka was linked to in `deps` (ldd of librdkafka.so.1), and CA certificates for
# TLS to brokers and JWKS. npm, npx and corepack go: pa never runs them, and each is code an image
# scanner reports on (the base layer still holds them, so this hides them without saving space).
# hadolint ignore=DL3008
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    libssl3 zlib1g libzstd1 liblz4-1 libsasl2-2 libcurl4 ca-certificates \
  && rm -rf /var/lib/apt/lists/* \
  && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
    /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg
WORKDIR /app
# A container is reached on 0.0.0.0, so pa refuses to start here with AUTH_MODE=none unless
# ALLOW_INSECURE=true: set AUTH_MODE=token or jwt (and their files) when running the image.
ENV NODE_ENV=production \
    UV_THREADPOOL_SIZE=16 \
    GRPC_HOST=0.0.0.0 \
    GRPC_PORT=50051 \
    DATA_DIR=/app/data \
    LOG_FORMAT=json \
    LOG_LEVEL=info
# Code and dependencies are owned by root, so the `node` user (1000) that runs pa can read but not change them;
# it writes only DATA_DIR (mount a volume there to keep the embedded store).
COPY --from=prod-deps /app/node_modules ./node_modules
# Fails the build if a library that a native module links to is missing here.
RUN node -e 'require("@confluentinc/kafka-javascript"); require("better-sqlite3")' \
  && mkdir -p /app/data && chown node:node /app/data
COPY package.json ./
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
# The base image's `node` user, by number, so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
EXPOSE 50051
# /healthz says the process is alive (/readyz, which also needs Kafka, is for orchestrators' readiness).
# Over TLS (TLS_CERT set) the probe skips certificate checks: it talks to itself on 127.0.0.1.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "const tls = Boolean(process.env.TLS_CERT); if (tls) process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; fetch(`${tls ? 'https' : 'http'}://127.0.0.1:${process.env.GRPC_PORT || 50051}/healthz`, { signal: AbortSignal.timeout(2500) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 itself (no shell, no npm), so docker stop's SIGTERM reaches pa, which stops gracefully.
CMD ["node", "--enable-source-maps", "dist/server/main.js"]
