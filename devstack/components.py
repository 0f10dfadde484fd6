"""How to start each part of the system as a real process: Redis, PostgreSQL, livekit-server and
our services. One definition serves both ``make up`` and the pytest fixtures."""

from __future__ import annotations

import glob
import json
import os
import pwd
import secrets
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from devstack.procs import ManagedProcess, free_port, http_ok, redis_pong

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "bin"
LIVEKIT_DEV_KEY, LIVEKIT_DEV_SECRET = "devkey", "secret"
# Services that call other services and so hold a credential of their own.
CALLERS = ["api", "agent", "worker"]


def _tool(name: str, *preferred_globs: str) -> str:
    """The newest match of ``preferred_globs``, else ``name`` on PATH."""
    found = next((p for g in preferred_globs for p in sorted(glob.glob(g))[-1:]), None) or shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found: run `make setup`")
    return found


@dataclass
class StackPorts:
    api: int = 8000
    stt: int = 8001
    diarization: int = 8002
    agent: int = 8081
    worker: int = 8003
    bridge: int = 8004
    livekit: int = 7880
    livekit_tcp: int = 7881
    livekit_udp: int = 7882
    redis: int = 6379

    @classmethod
    def free(cls) -> StackPorts:
        return cls(**{name: free_port() for name in asdict(cls())})


@dataclass
class StackSecrets:
    """Generated per stack (``make up`` keeps them in .run/stack.json; tests make new ones)."""

    auth_jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    service_keys: dict[str, str] = field(default_factory=lambda: {n: secrets.token_urlsafe(32) for n in CALLERS})


def user_token(secret: str, user_id: str, email: str | None = None, ttl_s: int = 3600) -> str:
    """A user JWT shaped like the ones local accounts and Supabase Auth issue, signed with the
    stack's AUTH_JWT_SECRET."""
    import jwt  # the root environment's; devstack itself needs only the standard library

    now = int(time.time())
    claims: dict[str, object] = {"sub": user_id, "aud": "authenticated", "role": "authenticated", "iat": now, "exp": now + ttl_s}
    if email:
        claims["email"] = email
    return jwt.encode(claims, secret, algorithm="HS256")


def service_env(ports: StackPorts, keys: StackSecrets) -> dict[str, str]:
    """Environment every service process gets: where the others are, and the credentials."""
    return {
        "API_PORT": str(ports.api),
        "STT_PORT": str(ports.stt),
        "DIARIZATION_PORT": str(ports.diarization),
        "AGENT_HTTP_PORT": str(ports.agent),
        "WORKER_HTTP_PORT": str(ports.worker),
        "BRIDGE_PORT": str(ports.bridge),
        "DEVICE_BRIDGE_PUBLIC_URL": f"ws://127.0.0.1:{ports.bridge}/v1/device",
        "API_URL": f"http://127.0.0.1:{ports.api}",
        "STT_URL": f"http://127.0.0.1:{ports.stt}",
        "DIARIZATION_URL": f"http://127.0.0.1:{ports.diarization}",
        "REDIS_URL": f"redis://127.0.0.1:{ports.redis}/0",
        "LIVEKIT_URL": f"ws://127.0.0.1:{ports.livekit}",
        "LIVEKIT_API_KEY": LIVEKIT_DEV_KEY,
        "LIVEKIT_API_SECRET": LIVEKIT_DEV_SECRET,
        "AUTH_JWT_SECRET": keys.auth_jwt_secret,
        "SERVICE_KEYS": json.dumps(keys.service_keys),
        # The checkout's own LiveKit plugin before the one installed in the agent's environment
        # (an editable install may point at another checkout).
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins" / "livekit-plugins-intrascribe")]),
        "PYTHONUNBUFFERED": "1",
        # Loopback only, livekit-server --dev's key pair: production mode would refuse it.
        "INTRASCRIBE_ENV": "development",
    }


def redis_server(port: int, workdir: Path, persist: bool = False) -> ManagedProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [
        _tool("redis-server"),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(workdir),
        "--save",
        "",
        "--appendonly",
        "yes" if persist else "no",
        "--daemonize",
        "no",
    ]
    return ManagedProcess("redis", argv, workdir / "redis.log", redis_pong(port), ready_timeout=20)


def postgres_server(port: int, workdir: Path) -> ManagedProcess:
    """A throwaway cluster. initdb and postgres refuse to run as root, so as root they run as the
    ``postgres`` system user (created by the Debian package); ``workdir`` must then be reachable
    by that user (not under a 0700 directory of root's)."""
    pg_bin = Path(_tool("initdb", "/usr/lib/postgresql/*/bin/initdb")).parent
    data, sockets = workdir / "data", workdir / "sockets"
    user = "postgres" if os.geteuid() == 0 else None
    workdir.mkdir(parents=True, exist_ok=True)
    sockets.mkdir(exist_ok=True)
    if user:
        entry = pwd.getpwnam(user)
        for path in (workdir, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    if not (data / "PG_VERSION").exists():
        init = subprocess.run(
            [str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            user=user,
            capture_output=True,
            text=True,
            check=False,
        )
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    argv = [
        str(pg_bin / "postgres"),
        "-D",
        str(data),
        "-p",
        str(port),
        "-k",
        str(sockets),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "fsync=off",
        "-c",
        "max_connections=200",
    ]

    def ready() -> bool:
        probe = subprocess.run(
            [str(pg_bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"], capture_output=True, check=False
        )
        return probe.returncode == 0

    return ManagedProcess("postgres", argv, workdir / "postgres.log", ready, user=user, ready_timeout=60)


@dataclass
class LiveKitNode:
    """One livekit-server's ports: signalling/API, ICE over TCP, and the one UDP port its media uses."""

    port: int
    tcp_port: int
    udp_port: int


def livekit_server(
    ports: StackPorts, workdir: Path, *, node: LiveKitNode | None = None, name: str = "livekit", redis_port: int | None = None
) -> ManagedProcess:
    """A livekit-server on ``node``'s ports (default: the stack's). With ``redis_port`` it is one
    node of a cluster: nodes sharing a Redis route rooms, signalling and agent jobs between them."""
    node = node or LiveKitNode(ports.livekit, ports.livekit_tcp, ports.livekit_udp)
    config: dict[str, object] = {
        "port": node.port,
        "bind_addresses": ["127.0.0.1"],
        "rtc": {"tcp_port": node.tcp_port, "udp_port": node.udp_port, "use_external_ip": False},
        "keys": {LIVEKIT_DEV_KEY: LIVEKIT_DEV_SECRET},
        "logging": {"level": "info"},
    }
    if redis_port is not None:
        config["redis"] = {"address": f"127.0.0.1:{redis_port}"}
    binary = BIN / "livekit-server"
    if not binary.exists():
        raise FileNotFoundError(f"{binary} missing: run `make setup`")
    argv = [str(binary), "--config-body", json.dumps(config), "--node-ip", "127.0.0.1"]
    return ManagedProcess(name, argv, workdir / f"{name}.log", http_ok(f"http://127.0.0.1:{node.port}/"), ready_timeout=30)


def python_service(
    name: str,
    package: str,
    env: dict[str, str],
    ready_url: str,
    workdir: Path,
    ready_timeout: float = 180.0,
    module: str | None = None,
    niceness: int = 0,
) -> ManagedProcess:
    """``python -m <module>`` (default: the package itself) in the package's own environment,
    ``niceness`` steps below normal CPU priority (``nice`` execs it: the PID stays the service's)."""
    python = ROOT / package / ".venv" / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(f"{python} missing: run `make setup`")
    return ManagedProcess(
        name,
        [*(["nice", "-n", str(niceness)] if niceness else []), str(python), "-m", module or package],
        workdir / f"{name}.log",
        http_ok(ready_url),
        env=env,
        cwd=ROOT,
        ready_timeout=ready_timeout,
    )
