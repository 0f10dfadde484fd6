#!/usr/bin/env bash
# Checks the Helm chart (deploy/helm/intrascribe) offline: helm lint, helm template with each
# values file, strict typed validation of every rendered object (deploy/helm/validate), and the
# chart's promises (fails closed without secrets, hardened pods, probes, KEDA or HPA).
#
# Tools are built from the Go module proxy once per machine into the user's cache (as
# scripts/setup.sh does for livekit-server): helm v4.3.2 (a few minutes on 2 cores) and the
# validator (seconds, rebuilt when its source changes). A second run takes seconds.
#
#   scripts/helm_check.sh            build what is missing, then check everything
#   scripts/helm_check.sh --tools    only build what is missing; prints HELM=... and VALIDATE=...
# HELM_CHECK_OUT=DIR keeps the rendered manifests there.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v4.3.2
GO_TOOLCHAIN=go1.26.8
CHART=deploy/helm/intrascribe
VALUES=deploy/helm/tests
VALIDATOR_SRC=deploy/helm/validate
BIN="${XDG_CACHE_HOME:-$HOME/.cache}/intrascribe/bin"
HELM="$BIN/helm"
VALIDATE="$BIN/intrascribe-helm-validate"

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'helm_check: %s\n' "$*" >&2; exit 1; }

find_go() {
  if command -v go >/dev/null; then command -v go
  elif [ -x /usr/local/go/bin/go ]; then echo /usr/local/go/bin/go
  else die "no Go toolchain (go on PATH or /usr/local/go/bin/go); scripts/setup.sh installs golang-go"
  fi
}

has_helm() { [ -x "$HELM" ] && [ "$("$HELM" version --template '{{.Version}}' 2>/dev/null)" = "$HELM_VERSION" ]; }
validator_hash() { cat "$VALIDATOR_SRC"/go.mod "$VALIDATOR_SRC"/go.sum "$VALIDATOR_SRC"/*.go | sha256sum | cut -c1-64; }
has_validator() { [ -x "$VALIDATE" ] && [ "$(cat "$VALIDATE.sha256" 2>/dev/null)" = "$(validator_hash)" ]; }

build_tools() {
  mkdir -p "$BIN"
  # One build at a time per machine (pytest workers and a shell may all get here at once).
  exec 9>"$BIN/.helm_check.lock"
  flock 9
  local go
  if ! has_helm; then
    go=$(find_go)
    step "go install helm.sh/helm/v4/cmd/helm@${HELM_VERSION} into $BIN (a few minutes on 2 cores)"
    local tmp
    tmp=$(mktemp -d)
    # -mod=mod: helm's own go.mod pins every dependency (k8s.io/* at one release, v0.37.2).
    # nice: under `make test` this build shares 2 cores with timing-bound tests.
    GOTOOLCHAIN="${GO_TOOLCHAIN}+auto" GOFLAGS="-mod=mod -buildvcs=false" GOBIN="$tmp" CGO_ENABLED=0 \
      nice -n 19 "$go" install -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=${HELM_VERSION}" \
      "helm.sh/helm/v4/cmd/helm@${HELM_VERSION}"
    mv "$tmp/helm" "$HELM"
    rmdir "$tmp"
    has_helm || die "built helm does not report ${HELM_VERSION}"
  fi
  if ! has_validator; then
    go=$(find_go)
    step "go build the chart validator ($VALIDATOR_SRC)"
    # -mod=readonly: go.mod and go.sum are committed; a missing sum is an error, not a download.
    (cd "$VALIDATOR_SRC" && GOTOOLCHAIN="${GO_TOOLCHAIN}+auto" GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
      nice -n 19 "$go" build -trimpath -o "$VALIDATE.tmp" .)
    mv "$VALIDATE.tmp" "$VALIDATE"
    validator_hash >"$VALIDATE.sha256"
  fi
  flock -u 9
}

build_tools
if [ "${1:-}" = "--tools" ]; then
  echo "HELM=$HELM"
  echo "VALIDATE=$VALIDATE"
  exit 0
fi

OUT="${HELM_CHECK_OUT:-}"
if [ -z "$OUT" ]; then OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT; fi
mkdir -p "$OUT"
# Keep helm's own cache and config out of the user's home.
export HELM_CACHE_HOME="$OUT/.helm/cache" HELM_CONFIG_HOME="$OUT/.helm/config" HELM_DATA_HOME="$OUT/.helm/data"

BASE=(-f "$VALUES/common-values.yaml")
SECRETS=(-f "$VALUES/secrets-values.yaml")
# name | values files | validator flags
SCENARIOS=(
  "default|${BASE[*]} ${SECRETS[*]}|"
  "gpu|${BASE[*]} ${SECRETS[*]} -f $CHART/values-gpu.yaml|"
  "keda-off|${BASE[*]} ${SECRETS[*]} -f $VALUES/keda-off-values.yaml|"
  "existing-secret|${BASE[*]} -f $VALUES/existing-secret-values.yaml|-external-secret intrascribe-credentials -external-secret intrascribe-llm-keys"
)

kinds() { grep -c "^kind: $2\$" "$1" || true; }

for scenario in "${SCENARIOS[@]}"; do
  IFS='|' read -r name values flags <<<"$scenario"
  step "$name: helm lint --strict, helm template, validate"
  # shellcheck disable=SC2086 # word splitting of the file lists is intended
  "$HELM" lint --strict "$CHART" $values >"$OUT/$name.lint" 2>&1 || { cat "$OUT/$name.lint" >&2; die "$name: helm lint failed"; }
  # shellcheck disable=SC2086
  "$HELM" template intrascribe "$CHART" --namespace meetings $values >"$OUT/$name.yaml" || die "$name: helm template failed"
  # shellcheck disable=SC2086
  "$VALIDATE" $flags "$OUT/$name.yaml" || die "$name: validation failed ($OUT/$name.yaml)"
  deployments=$(kinds "$OUT/$name.yaml" Deployment)
  [ "$deployments" = 6 ] || die "$name: $deployments Deployments, expected 6"
  [ "$(kinds "$OUT/$name.yaml" PodDisruptionBudget)" = 6 ] || die "$name: expected a PodDisruptionBudget per Deployment"
  scaled=$(kinds "$OUT/$name.yaml" ScaledObject)
  hpas=$(kinds "$OUT/$name.yaml" HorizontalPodAutoscaler)
  if [ "$name" = keda-off ]; then
    [ "$scaled" = 0 ] && [ "$hpas" = 6 ] || die "$name: KEDA off must give 6 HPAs and no ScaledObject (got $hpas, $scaled)"
  else
    [ "$scaled" = 4 ] && [ "$hpas" = 1 ] || die "$name: KEDA on must give 4 ScaledObjects (worker, agent, stt, diarization) and the API's HPA (got $scaled, $hpas)"
  fi
done

# Fails closed: no secret, no render. Each case must fail, with the message that names the value.
expect_failure() {
  local what=$1 message=$2; shift 2
  if "$HELM" template intrascribe "$CHART" "$@" >"$OUT/fail.yaml" 2>"$OUT/fail.err"; then
    die "$what: rendered, but must fail"
  fi
  grep -qF -- "$message" "$OUT/fail.err" || { cat "$OUT/fail.err" >&2; die "$what: failed without saying \"$message\""; }
  echo "  refused as expected: $what" >&2
}
step "fails closed without secrets or required settings"
expect_failure "no values at all" "is required"
expect_failure "no secrets" "secrets.authJwtSecret is required" "${BASE[@]}"
expect_failure "a missing database URL" "secrets.databaseUrl is required" "${BASE[@]}" "${SECRETS[@]}" --set secrets.databaseUrl=
expect_failure "a short JWT secret" "use at least 32 random bytes" "${BASE[@]}" "${SECRETS[@]}" --set secrets.authJwtSecret=tooshort
expect_failure "LiveKit's development key" "development or placeholder key" "${BASE[@]}" "${SECRETS[@]}" --set secrets.livekitApiKey=devkey
expect_failure "existingSecret mixed with inline secrets" "is set together with secrets.existingSecret" \
  "${BASE[@]}" "${SECRETS[@]}" --set secrets.existingSecret=intrascribe-credentials
expect_failure "no LiveKit URL" "livekit.url is required" "${SECRETS[@]}" -f "$VALUES/common-values.yaml" --set livekit.url=
expect_failure "KEDA without Prometheus" "keda.prometheus.serverAddress is required" \
  "${SECRETS[@]}" -f "$VALUES/common-values.yaml" --set keda.prometheus.serverAddress=

step "helm chart OK: ${#SCENARIOS[@]} values sets rendered and validated; refusals checked"
