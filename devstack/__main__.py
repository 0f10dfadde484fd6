"""``python -m devstack up|down|run|health|logs|status``: the whole system on one machine, on
embedded defaults, as plain processes whose PIDs are kept in .run/stack.json."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict

from devstack.components import ROOT, StackPorts, StackSecrets, livekit_server, redis_server, service_processes
from devstack.procs import ManagedProcess, ProcessFailed, pid_alive, stop_pid

RUN_DIR = ROOT / ".run"
STATE = RUN_DIR / "stack.json"
LOGS = RUN_DIR / "logs"
# Start order, in groups that may start together; each group is ready before the next starts.
GROUPS = [["redis", "livekit"], ["stt", "diarization"], ["api", "worker"], ["agent", "bridge"]]
PORT_VARS = {
    "api": "API_PORT",
    "stt": "STT_PORT",
    "diarization": "DIARIZATION_PORT",
    "agent": "AGENT_HTTP_PORT",
    "worker": "WORKER_HTTP_PORT",
    "bridge": "BRIDGE_PORT",
    "livekit": "LIVEKIT_PORT",
    "livekit_tcp": "LIVEKIT_TCP_PORT",
    "livekit_udp": "LIVEKIT_UDP_PORT",
    "redis": "REDIS_PORT",
}


def dotenv() -> dict[str, str]:
    """KEY=VALUE lines of ./.env (the services read it themselves; we need the ports)."""
    values: dict[str, str] = {}
    path = ROOT / ".env"
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and not key.startswith("#"):
                values[key.strip()] = value.strip().strip("'\"")
    return {**values, **os.environ}


def load_state() -> dict:
    return json.loads(STATE.read_text()) if STATE.exists() else {}


def save_state(state: dict) -> None:
    RUN_DIR.mkdir(exist_ok=True)
    STATE.write_text(json.dumps(state, indent=2))


def running_pids(state: dict) -> dict[str, int]:
    return {name: pid for name, pid in state.get("pids", {}).items() if pid_alive(pid)}


def build_processes(ports: StackPorts, keys: StackSecrets) -> dict[str, ManagedProcess]:
    config = dotenv()
    extra = {
        k: v for k, v in config.items() if k in {"AUTH_JWT_SECRET", "SERVICE_KEYS", "DATABASE_URL", "AUDIO_STORAGE_DIR"} and v
    }
    extra.setdefault("DATABASE_URL", f"sqlite+aiosqlite:///{RUN_DIR / 'data' / 'intrascribe.db'}")
    extra.setdefault("AUDIO_STORAGE_DIR", str(RUN_DIR / "data" / "audio"))
    procs = {"redis": redis_server(ports.redis, RUN_DIR / "redis", persist=True), "livekit": livekit_server(ports, LOGS)}
    procs["redis"].log_path = LOGS / "redis.log"
    procs.update(service_processes(ports, keys, LOGS, extra))
    return procs


def up() -> dict:
    state = load_state()
    alive = running_pids(state)
    if alive and len(alive) == sum(map(len, GROUPS)):
        print("already running")
        return state
    if alive:
        print(f"stopping a partial stack first: {', '.join(alive)}")
        down()
    config = dotenv()
    ports = StackPorts(**{name: int(config.get(var, getattr(StackPorts(), name))) for name, var in PORT_VARS.items()})
    keys = StackSecrets(**state["secrets"]) if "secrets" in state else StackSecrets()
    procs = build_processes(ports, keys)
    state = {"ports": asdict(ports), "secrets": asdict(keys), "pids": {}}
    started = time.monotonic()
    try:
        for group in GROUPS:
            for name in group:
                procs[name].start()
                state["pids"][name] = procs[name].pid
                save_state(state)
            for name in group:
                procs[name].wait_ready()
                print(f"  {name:<12} ready (pid {procs[name].pid})")
    except (ProcessFailed, FileNotFoundError) as exc:
        print(f"start-up failed: {exc}", file=sys.stderr)
        down()
        sys.exit(1)
    print(f"Intrascribe is up in {time.monotonic() - started:.1f}s. Logs: {LOGS}")
    print_urls(state)
    return state


def print_urls(state: dict) -> None:
    p = state["ports"]
    print(f"\n  Open:           http://127.0.0.1:{p['api']}/")
    print(f"  API docs:       http://127.0.0.1:{p['api']}/docs")
    print(f"  STT API:        http://127.0.0.1:{p['stt']}/docs")
    print(f"  Diarization:    http://127.0.0.1:{p['diarization']}/docs")
    print(f"  LiveKit:        ws://127.0.0.1:{p['livekit']}\n")


def down() -> None:
    state = load_state()
    pids = state.get("pids", {})
    for group in reversed(GROUPS):
        for name in group:
            if name in pids and pid_alive(pids[name]):
                stop_pid(pids[name])
                print(f"  {name:<12} stopped (pid {pids[name]})")
    if state:
        state["pids"] = {}
        save_state(state)


def health() -> int:
    state = load_state()
    if not state.get("pids"):
        print("not running (make up)")
        return 1
    ports = state["ports"]
    urls = {name: ports[name] for name in ("api", "stt", "diarization", "agent", "worker", "bridge")}
    failed = 0
    for name, pid in state["pids"].items():
        status = "running" if pid_alive(pid) else "DEAD"
        if name in urls and status == "running":
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{urls[name]}/health/ready", timeout=3) as resp:
                    status = f"ready {resp.read().decode()}"
            except urllib.error.HTTPError as err:
                status = f"NOT READY {err.read().decode()}"
            except OSError as err:
                status = f"NOT ANSWERING ({err})"
        failed += not status.startswith(("ready", "running"))
        print(f"{name:<12} pid {pid:<8} {status}")
    return 1 if failed else 0


def logs(follow: bool, lines: int) -> None:
    files = sorted(str(p) for p in LOGS.glob("*.log"))
    if not files:
        print("no logs yet")
        return
    subprocess.run(["tail", f"-n{lines}", *(["-F"] if follow else []), *files], check=False)


def run() -> None:
    up()
    print("Following logs; Ctrl-C stops everything.")
    try:
        logs(follow=True, lines=0)
    except KeyboardInterrupt:
        pass
    finally:
        down()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "down", "run", "health", "status"):
        sub.add_parser(name)
    log_parser = sub.add_parser("logs")
    log_parser.add_argument("-f", "--follow", action="store_true")
    log_parser.add_argument("-n", "--lines", type=int, default=50)
    args = parser.parse_args()
    if args.command == "up":
        up()
    elif args.command == "down":
        down()
    elif args.command == "run":
        run()
    elif args.command in ("health", "status"):
        sys.exit(health())
    elif args.command == "logs":
        logs(args.follow, args.lines)


if __name__ == "__main__":
    main()
