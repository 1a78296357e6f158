#!/usr/bin/env bash
# `npm start`: pa as compiled JavaScript, with its dashboard. First builds what is missing or older
# than its sources: dist/ (tsc, a few seconds) and web/dist (vite, a few seconds). Then this shell
# becomes node (exec), so npm's only child is pa itself and a supervisor's SIGTERM to `npm start`
# reaches pa, which stops gracefully and releases its port. Build messages go to stderr: stdout
# carries pa's log alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# stale OUTPUT SOURCE...: OUTPUT is missing, or a SOURCE file is newer than it.
stale() {
  local output=$1
  shift
  [ ! -e "$output" ] || [ -n "$(find "$@" -newer "$output" -print -quit 2>/dev/null)" ]
}

if stale dist/server/main.js server gen cli client package.json tsconfig.json tsconfig.build.json; then
  if [ -x node_modules/.bin/tsc ]; then
    echo "[start] compiling pa to dist/ (npm run build)" >&2
    npm run --silent build >&2
  elif [ ! -e dist/server/main.js ]; then
    echo "[start] dist/ is missing and TypeScript is not installed (an install without dev dependencies?):" \
      "run 'npm run build' where 'npm ci' installed everything, or use the Docker image" >&2
    exit 1
  fi
fi

if stale web/dist/index.html web/src web/index.html web/vite.config.ts gen client; then
  if [ -x node_modules/.bin/vite ]; then
    echo "[start] building the dashboard to web/dist (npm run build:web)" >&2
    npm run --silent build:web -- --logLevel warn >&2
  elif [ ! -e web/dist/index.html ]; then
    echo "[start] web/dist is missing and vite is not installed: pa starts without its dashboard" >&2
  fi
fi

export UV_THREADPOOL_SIZE=${UV_THREADPOOL_SIZE:-16}
exec node --enable-source-maps dist/server/main.js
