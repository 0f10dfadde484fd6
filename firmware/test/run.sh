#!/usr/bin/env bash
# Builds and runs the firmware's host unit tests (no ESP-IDF needed): once with AddressSanitizer and
# UndefinedBehaviorSanitizer, once optimised without them (-O2 finds other warnings).
# Usage: firmware/test/run.sh [build-dir]   (default firmware/test/build)
# ISC_TEST_VERBOSE=1 also prints the core's log lines.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/build}"
jobs="$(nproc 2>/dev/null || echo 2)"

run_variant() {
    local name="$1"
    shift
    echo "==> firmware host tests ($name)"
    cmake -S "$here" -B "$build/$name" "$@" >/dev/null
    cmake --build "$build/$name" --parallel "$jobs" >/dev/null
    ctest --test-dir "$build/$name" --output-on-failure --timeout 60
}

run_variant sanitize -DISC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
run_variant release -DISC_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Release
