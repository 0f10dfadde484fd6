"""Start real server processes, wait until they are ready, stop them by PID.

Used by the test harness (pytest fixtures) and by ``make up``/``make down``. Standard library
only, so it runs in every service's environment."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ReadyCheck = Callable[[], bool]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_ok(url: str, timeout: float = 1.0) -> ReadyCheck:
    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback URL we built
                return bool(200 <= resp.status < 300)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    return check


def redis_pong(port: int) -> ReadyCheck:
    def check() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    return check


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still "exists": treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def stop_pid(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM the process group led by ``pid``, then SIGKILL whatever is left after ``timeout``."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done:
                    return
            except ChildProcessError:
                if not pid_alive(pid):
                    return
            time.sleep(0.1)


class ProcessFailed(RuntimeError):
    pass


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    log_path: Path
    ready: ReadyCheck
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    user: str | None = None  # run as this user (postgres refuses to run as root)
    ready_timeout: float = 120.0
    proc: subprocess.Popen[bytes] | None = None
    pid: int | None = None

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        env = {**os.environ, **self.env}
        self.proc = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=self.cwd,
            start_new_session=True,
            user=self.user,
        )
        log.close()
        self.pid = self.proc.pid
        return self

    def wait_ready(self) -> ManagedProcess:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.pid is None or not pid_alive(self.pid) or (self.proc and self.proc.poll() is not None):
                raise ProcessFailed(f"{self.name} exited before it was ready\n{self.log_tail()}")
            if self.ready():
                return self
            time.sleep(0.2)
        raise ProcessFailed(f"{self.name} not ready after {self.ready_timeout:.0f}s\n{self.log_tail()}")

    def stop(self) -> None:
        if self.pid is not None:
            stop_pid(self.pid)
            if self.proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=1)

    @property
    def running(self) -> bool:
        return self.pid is not None and pid_alive(self.pid) and (self.proc is None or self.proc.poll() is None)

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return f"(no log at {self.log_path})"
        return f"--- last {len(text)} lines of {self.log_path} ---\n" + "\n".join(text)
