#!/usr/bin/env bash
# Builds the web app into web/dist (served by the API at /) when its sources or lock file changed
# since the last build; otherwise returns at once. Without a new enough Node.js it says so and
# leaves the app unbuilt: the API still runs, and / explains how to build it.
set -euo pipefail
cd "$(dirname "$0")/../web"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "Node.js/npm not found: the web app is not built (install Node.js >= 20.19, then run make setup)" >&2
  exit 0
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=12)||(a===20&&b>=19)?0:1)'; then
  echo "Node.js $(node --version) is too old for the web build (needs >= 20.19): the web app is not built" >&2
  exit 0
fi

digest() { sha256sum | cut -d' ' -f1; }
lock_hash=$(digest < package-lock.json)
if [ "$(cat node_modules/.intrascribe-lock 2>/dev/null)" != "$lock_hash" ]; then
  echo "==> npm ci (web)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.intrascribe-lock
fi

# Everything that goes into the build: sources, configs, the lock file.
source_hash=$(find . -path ./node_modules -prune -o -path ./dist -prune -o -type f -print0 | LC_ALL=C sort -z |
  xargs -0 sha256sum | digest)
if [ "$(cat dist/.build-stamp 2>/dev/null)" != "$source_hash" ]; then
  echo "==> npm run build (web)"
  npm run build --silent -- --logLevel warn
  echo "$source_hash" > dist/.build-stamp
fi
