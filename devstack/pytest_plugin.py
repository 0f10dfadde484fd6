"""pytest fixtures that start real servers on free loopback ports and stop them by PID. When a
test fails, the tail of every server's log is attached to its report. Every test declares its
category (unit, service or e2e); ``--category`` runs one of them."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from devstack.components import (
    LIVEKIT_DEV_KEY,
    LIVEKIT_DEV_SECRET,
    StackPorts,
    StackSecrets,
    postgres_server,
    python_service,
    redis_server,
    service_env,
    user_token,
)
from devstack.procs import ManagedProcess, free_port
from devstack.topology import Topology, stack_groups
from shared.service_auth import service_header

_started: list[ManagedProcess] = []
_exit_status = pytest.StashKey[int]()


CATEGORIES = ("unit", "service", "e2e")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--category", choices=CATEGORIES, help="run only the tests of this category")


def category_of(item: pytest.Item) -> str | None:
    """The nearest unit/service/e2e marker: a test's own overrides its module's."""
    return next((mark.name for mark in item.iter_markers() if mark.name in CATEGORIES), None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = [item.nodeid for item in items if category_of(item) is None]
    if missing:
        raise pytest.UsageError(f"tests without a category (mark them unit, service or e2e): {', '.join(missing[:5])}")
    wanted = config.getoption("category")
    if wanted:
        config.hook.pytest_deselected(items=[item for item in items if category_of(item) != wanted])
        items[:] = [item for item in items if category_of(item) == wanted]


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """livekit.rtc's native runtime can abort the process while it disposes itself at exit (a Rust
    panic in a tokio worker; seen once in four full runs, after every test had passed), which
    would turn a reported result into exit code 134. Everything is reported and every server
    stopped by now, so leave with pytest's own status before that runs. Not in a pytest-xdist
    worker: it still has to hand its results to the controller."""
    if "livekit.rtc" in sys.modules and not hasattr(config, "workerinput"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(config.stash.get(_exit_status, 0)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_exit_status] = exitstatus


def _start(*procs: ManagedProcess) -> None:
    """Start together, then wait for each; on any failure stop them all and re-raise."""
    try:
        for proc in procs:
            _started.append(proc.start())
        for proc in procs:
            proc.wait_ready()
    except BaseException:
        _stop(*procs)
        raise


def _stop(*procs: ManagedProcess) -> None:
    for proc in reversed(procs):
        proc.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _started:
        report.sections.append(("server logs", "\n\n".join(p.log_tail(40) for p in _started)))


@dataclass
class Servers:
    """What a test needs to reach the servers of one fixture."""

    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    ports: StackPorts | None = None
    secrets: StackSecrets | None = None
    topology: Topology = field(default_factory=Topology)

    def url(self, service: str) -> str:
        assert self.ports is not None
        return f"http://127.0.0.1:{getattr(self.ports, service)}"

    @property
    def livekit_url(self) -> str:
        assert self.ports is not None
        return f"ws://127.0.0.1:{self.ports.livekit}"

    livekit_key = LIVEKIT_DEV_KEY
    livekit_secret = LIVEKIT_DEV_SECRET

    def user_token(self, user_id: str, email: str | None = None, ttl_s: int = 3600) -> str:
        assert self.secrets is not None
        return user_token(self.secrets.auth_jwt_secret, user_id, email, ttl_s)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    proc = redis_server(port, tmp_path_factory.mktemp("redis"))
    _start(proc)
    yield f"redis://127.0.0.1:{port}/0"
    _stop(proc)


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    port = free_port()
    # Not under pytest's tmp dir: that is private to root, and the server runs as `postgres`.
    workdir = Path(tempfile.mkdtemp(prefix="intrascribe-pg-"))
    proc = postgres_server(port, workdir)
    try:
        _start(proc)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        _stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


class ServiceFactory:
    """Starts single services on free ports with the given settings (each its own process)."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._started: list[ManagedProcess] = []
        self.keys = StackSecrets()

    def start(
        self, module: str, port_var: str, env: dict[str, str] | None = None, name: str | None = None, main: str | None = None
    ) -> str:
        """``main``: run this module of the package's environment (default: the package)."""
        port = free_port()
        full_env = {**service_env(StackPorts(), self.keys), port_var: str(port), **(env or {})}
        name = name or f"{module}-{port}"
        proc = python_service(name, module, full_env, f"http://127.0.0.1:{port}/health/ready", self._workdir, module=main)
        _start(proc)
        self._started.append(proc)
        return f"http://127.0.0.1:{port}"

    def headers(self, caller: str = "api") -> dict[str, str]:
        return service_header(caller, self.keys.service_keys)

    def stop_all(self) -> None:
        _stop(*self._started)


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceFactory]:
    factory = ServiceFactory(tmp_path_factory.mktemp("services"))
    yield factory
    factory.stop_all()


# A dead batch worker's job moves on after 5 s instead of a minute, and a silent device is dropped
# after 3 × 3 s instead of 30 s; webhook receivers in the tests listen on loopback.
# Tests start a room or two at a time: one warm job process, not the default's eight per agent.
STACK_TEST_ENV = {
    "JOB_HEARTBEAT_TIMEOUT_S": "5",
    "BRIDGE_HEARTBEAT_S": "3",
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    "AGENT_IDLE_PROCESSES": "1",
}


def _run_stack(workdir: Path, topology: Topology, extra_env: dict[str, str]) -> Iterator[Servers]:
    ports, keys = StackPorts.free(), StackSecrets()
    started: list[ManagedProcess] = []
    try:
        for group in stack_groups(ports, keys, workdir, topology, {**STACK_TEST_ENV, **extra_env}):
            started += group
            _start(*group)
        yield Servers({p.name: p for p in started}, ports, keys, topology)
    finally:
        _stop(*started)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The whole system: Redis, livekit-server and every service, each a real process."""
    yield from _run_stack(tmp_path_factory.mktemp("stack"), Topology(), {})


@pytest.fixture(scope="session")
def scaled_stack() -> Iterator[Servers]:
    """The scaled topology (devstack/topology.py) at scale 2: two of each behind HAProxy, two
    LiveKit nodes sharing Redis, PostgreSQL."""
    # Not under pytest's tmp dir: that is private to root, and PostgreSQL runs as `postgres`.
    workdir = Path(tempfile.mkdtemp(prefix="intrascribe-scaled-"))
    workdir.chmod(0o755)
    try:
        yield from _run_stack(workdir, Topology.plan(2), {})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
