"""Run the benchmarks named on the command line (default: all)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = [
    *("stt", "vocabulary", "redaction", "captions", "diarization", "batch"),
    *("api", "bridge", "live", "join", "scale", "peers"),
]

if __name__ == "__main__":
    for name in sys.argv[1:] or BENCHMARKS:
        print(f"==> bench {name}", flush=True)
        importlib.import_module(f"bench.{name}").main()
