"""Shared by the benchmarks: start a real service process, percentiles, peak memory, results."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from devstack.components import StackPorts, StackSecrets, python_service, service_env
from devstack.procs import free_port
from shared.service_auth import service_header

RESULTS = Path(__file__).resolve().parent / "results"


@contextmanager
def running_service(module: str, port_var: str, env: dict[str, str]) -> Iterator[tuple[str, dict[str, str], int]]:
    """(url, auth headers, pid) of a fresh service process, stopped afterwards."""
    keys = StackSecrets()
    port = free_port()
    proc = python_service(
        module,
        module,
        {**service_env(StackPorts(), keys), port_var: str(port), **env},
        f"http://127.0.0.1:{port}/health/ready",
        Path(tempfile.mkdtemp(prefix="bench-")),
    )
    proc.start().wait_ready()
    try:
        assert proc.pid is not None
        yield f"http://127.0.0.1:{port}", service_header("api", keys.service_keys), proc.pid
    finally:
        proc.stop()


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a running process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (job processes of the agent, say)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # it ended meanwhile
                queue += [int(child) for child in task.read_text().split()]
    return found


def pss_mb(pid: int) -> float:
    """Proportional set size: shared pages (forked job processes share their imports) are split
    among the processes that share them, so a process tree's PSS adds up honestly."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3) if values else float("nan")


def write_results(name: str, results: dict[str, Any], table: Sequence[Sequence[object]], header: tuple[str, ...]) -> None:
    RESULTS.mkdir(exist_ok=True)
    meta = {
        "benchmark": name,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {_cpus()} CPU cores, {platform.python_implementation()} {platform.python_version()}",
    }
    (RESULTS / f"{name}.json").write_text(json.dumps({**meta, **results}, indent=2) + "\n")
    lines = [f"### {name} ({meta['date']}, {meta['machine']})", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in table]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _cpus() -> int:
    return len(os.sched_getaffinity(0))
