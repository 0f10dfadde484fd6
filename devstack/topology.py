"""The whole system as processes, on one machine, at scale 1 or N.

Scale 1 is the embedded default: one of each, SQLite. Scale N is the topology a deployment that
outgrows one process runs, on existing engines only (README, "Scaled topology"): N livekit-server nodes
sharing Redis (LiveKit routes rooms, signalling and agent jobs between them), N agent workers
(LiveKit dispatches rooms by the load each reports), N STT, diarization and API replicas and N
batch workers, PostgreSQL, and one HAProxy in front of the LiveKit nodes and of every HTTP
replica set (least connections, WebSocket upgrade, health checks). Every service reaches the
others through the balancer's ports, which are the stack's usual ports (``StackPorts``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from devstack.components import (
    LiveKitNode,
    StackPorts,
    StackSecrets,
    _tool,
    livekit_server,
    postgres_server,
    python_service,
    redis_server,
    service_env,
)
from devstack.procs import ManagedProcess, free_port, http_ok

# Services run as N replicas at scale N; the device bridge stays one (devices reconnect to it).
REPLICATED = ("stt", "diarization", "api", "worker", "agent")
# Those clients reach through the balancer (the agent workers reach LiveKit instead).
BALANCED = ("stt", "diarization", "api")
PORT_VAR = {
    "api": "API_PORT",
    "stt": "STT_PORT",
    "diarization": "DIARIZATION_PORT",
    "agent": "AGENT_HTTP_PORT",
    "worker": "WORKER_HTTP_PORT",
    "bridge": "BRIDGE_PORT",
}
# (python package, module) of each service.
MODULES = {
    "stt": ("stt_service", None),
    "diarization": ("diarization_service", None),
    "api": ("api_service", None),
    "worker": ("api_service", "api_service.worker"),
    "agent": ("agent_service", None),
    "bridge": ("agent_service", "agent_service.bridge"),
}
# Model inference runs at a lower CPU priority than everything that moves live audio (LiveKit,
# the agent, the people in the room): on a saturated machine a decoder that competes with
# WebRTC's threads on equal terms can make them late, and late packets reach the agent
# time-stretched ("quarterly review" heard as "quad-early ... remune" in a loaded test run).
NICENESS = {"stt": 5, "diarization": 5}
# Start order, in groups that start together; each group is ready before the next starts.
SERVICE_GROUPS = [["stt", "diarization"], ["api", "worker"], ["agent", "bridge"]]


@dataclass
class Topology:
    """Where each replica listens. ``replicas[service]`` are HTTP ports (empty at scale 1: the
    one process listens on the stack's own port)."""

    scale: int = 1
    replicas: dict[str, list[int]] = field(default_factory=dict)
    livekit_nodes: list[LiveKitNode] = field(default_factory=list)
    balancer_stats: int = 0
    postgres: int = 0

    @classmethod
    def plan(cls, scale: int) -> Topology:
        if scale < 2:
            return cls()
        return cls(
            scale=scale,
            replicas={name: [free_port() for _ in range(scale)] for name in REPLICATED},
            livekit_nodes=[LiveKitNode(free_port(), free_port(), free_port()) for _ in range(scale)],
            balancer_stats=free_port(),
            postgres=free_port(),
        )

    def names(self, service: str) -> list[str]:
        """Process names of a service's replicas: ``api`` at scale 1, ``api-1``, ``api-2``… else."""
        if self.scale < 2 or service not in self.replicas:
            return [service]
        return [f"{service}-{i}" for i in range(1, self.scale + 1)]

    def health_ports(self, ports: StackPorts) -> dict[str, int]:
        """HTTP port of every service process, by process name."""
        found: dict[str, int] = {}
        for service in PORT_VAR:
            replica_ports = self.replicas.get(service) or [getattr(ports, service)]
            found.update(zip(self.names(service), replica_ports, strict=True))
        return found


def haproxy_config(ports: StackPorts, topology: Topology) -> str:
    """HAProxy in HTTP mode: a frontend on each stack port, least connections over its replicas,
    a replica out after two failed health checks a second apart and back after one good one; a
    request that cannot connect is retried on another replica. Tunnels (WebSockets: LiveKit
    signalling, STT streams) may stay open for a day."""
    lines = [
        "global",
        "    maxconn 4096",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 1h",
        "    timeout server 1h",
        "    timeout tunnel 24h",
        "    timeout http-request 30s",
        "    retries 3",
        "    option redispatch 1",
        "    retry-on conn-failure empty-response",
        "    default-server inter 1s fall 2 rise 1",
        "frontend stats",
        f"    bind 127.0.0.1:{topology.balancer_stats}",
        "    monitor-uri /live",
        "    stats enable",
        "    stats uri /stats",
        "    stats refresh 5s",
    ]
    backends = {service: (getattr(ports, service), topology.replicas[service], "/health/ready") for service in BALANCED}
    backends["livekit"] = (ports.livekit, [node.port for node in topology.livekit_nodes], "/")
    for name, (port, replica_ports, check) in backends.items():
        lines += [f"frontend {name}", f"    bind 127.0.0.1:{port}", f"    default_backend {name}"]
        lines += [
            f"backend {name}",
            "    balance leastconn",
            f"    option httpchk GET {check}",
            "    http-check expect status 200",
        ]
        lines += [f"    server {name}-{i} 127.0.0.1:{p} check" for i, p in enumerate(replica_ports, start=1)]
    return "\n".join(lines) + "\n"


def balancer(ports: StackPorts, topology: Topology, workdir: Path) -> ManagedProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "haproxy.cfg"
    config.write_text(haproxy_config(ports, topology))
    argv = [_tool("haproxy", "/usr/sbin/haproxy"), "-db", "-f", str(config)]
    return ManagedProcess("balancer", argv, workdir / "balancer.log", http_ok(f"http://127.0.0.1:{topology.balancer_stats}/live"))


def service_processes(
    ports: StackPorts,
    keys: StackSecrets,
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    topology: Topology | None = None,
    data_dir: Path | None = None,
) -> dict[str, ManagedProcess]:
    """Our services' processes by name (every replica at scale N). ``data_dir`` (default
    ``workdir``) holds the database, recordings and the agents' outboxes; logs go to ``workdir``."""
    topology = topology or Topology()
    data = data_dir or workdir
    env = {
        **service_env(ports, keys),
        "DATABASE_URL": f"sqlite+aiosqlite:///{data / 'intrascribe.db'}",
        "AUDIO_STORAGE_DIR": str(data / "audio"),
        "AGENT_OUTBOX_DIR": str(data / "agent-outbox"),
    }
    if topology.scale > 1:
        env["DATABASE_URL"] = f"postgresql+asyncpg://postgres@127.0.0.1:{topology.postgres}/postgres"
    env.update(extra_env or {})
    url = "http://127.0.0.1:{}/health/ready".format
    port_of = topology.health_ports(ports)
    procs = {}
    for service, (package, module) in MODULES.items():
        for name in topology.names(service):
            own = {**env, PORT_VAR[service]: str(port_of[name])}
            procs[name] = python_service(
                name, package, own, url(port_of[name]), workdir, module=module, niceness=NICENESS.get(service, 0)
            )
    return procs


def stack_groups(
    ports: StackPorts,
    keys: StackSecrets,
    workdir: Path,
    topology: Topology,
    extra_env: dict[str, str] | None = None,
    *,
    data_dir: Path | None = None,
    persist_redis: bool = False,
) -> list[list[ManagedProcess]]:
    """Every process of the stack, in start groups: each group is ready before the next starts."""
    data = data_dir or workdir
    infra = [redis_server(ports.redis, data / "redis", persist=persist_redis)]
    infra[0].log_path = workdir / "redis.log"
    groups = [infra]
    if topology.scale < 2:
        infra.append(livekit_server(ports, workdir))
    else:
        infra.append(postgres_server(topology.postgres, data / "postgres"))
        infra.extend(
            livekit_server(ports, workdir, node=node, name=f"livekit-{i}", redis_port=ports.redis)
            for i, node in enumerate(topology.livekit_nodes, start=1)
        )
        groups.append([balancer(ports, topology, workdir)])
    services = service_processes(ports, keys, workdir, extra_env, topology, data)
    groups += [[services[name] for service in group for name in topology.names(service)] for group in SERVICE_GROUPS]
    return groups
