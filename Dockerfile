# pa's image: the sidecar alone, compiled to JavaScript (`node dist/server/main.js`), with its dashboard.
#
#   docker build -t pa .
#   docker run --rm -p 50051:50051 -e KAFKA_BROKERS=broker:9092 -e KAFKA_TOPIC=payments pa
#
# Every variable of server/config/config.ts can be set with -e; docker-compose.yml runs pa with a
# local broker.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: production dependencies, native modules compiled against Debian's libraries ----
FROM ${NODE_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Debian's package versions are not pinned: a stable release only takes fixes, and pins would break on them.
# hadolint ignore=DL3008
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    g++ make python3 pkg-config \
    libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# @confluentinc/kafka-javascript builds its bundled librdkafka from source, linked to Debian's OpenSSL,
# zstd, lz4, SASL and curl (which Debian keeps patched), instead of downloading a prebuilt, statically
# linked binary; node-gyp takes Node's headers from the image instead of downloading them. This layer
# depends on the lockfile alone, so a code change does not compile librdkafka again. The dev
# dependencies (TypeScript, vite) are installed too: the next step builds with them.
RUN export CKJS_LINKING=dynamic \
    npm_config_build_from_source=@confluentinc/kafka-javascript \
    npm_config_nodedir=/usr/local \
  && npm ci --no-audit --no-fund \
  && npm cache clean --force

# pa compiled to dist/ and the dashboard to web/dist; then what only the build needed goes: the dev
# dependencies, librdkafka's sources, objects and static archives.
COPY tsconfig.json tsconfig.build.json ./
COPY gen ./gen
COPY server ./server
COPY cli ./cli
COPY web ./web
RUN npm run build \
  && npm run build:web -- --logLevel warn \
  && npm prune --omit=dev --no-audit --no-fund \
  && ckjs=node_modules/@confluentinc/kafka-javascript \
  && rm -rf "$ckjs"/deps/librdkafka "$ckjs"/src "$ckjs"/build/Release/obj.target "$ckjs"/build/Release/.deps \
    "$ckjs"/build/deps/include "$ckjs"/build/deps/librdkafka "$ckjs"/build/deps/*.a \
  && node -e 'const k = require("@confluentinc/kafka-javascript"); console.log("librdkafka", k.librdkafkaVersion, k.features.join(","))'

# ---- runtime: Node, the shared libraries librdkafka links to, and pa ----
FROM ${NODE_IMAGE} AS runtime
# hadolint ignore=DL3008
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    libssl3 zlib1g libzstd1 liblz4-1 libsasl2-2 libcurl4 ca-certificates \
  && rm -rf /var/lib/apt/lists/*
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
COPY --from=build /app/node_modules ./node_modules
# Fails the build if a library that a native module links to is missing here.
RUN node -e 'require("@confluentinc/kafka-javascript")' \
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
