"""docker-compose.yml cannot run here (no Docker engine), so check its shape: every service has
an image or build with an existing Dockerfile, a healthcheck, and only documented variables; the
replicated services can be scaled (`--scale`), and the clients reach them through the balancer,
whose HAProxy configuration `haproxy -c` accepts. Where the `docker compose` CLI is installed, it
validates the file, scaled."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.unit]

ROOT = Path(__file__).resolve().parents[1]
OURS = {
    "api": "api_service",
    "stt": "stt_service",
    "diarization": "diarization_service",
    "agent": "agent_service",
    "worker": "api_service",
    "bridge": "agent_service.bridge",
}
INFRA = {"livekit", "redis", "postgres", "proxy", "balancer"}
# `docker compose up --scale NAME=N` needs no fixed host port and no container_name on these.
SCALED = ("api", "stt", "diarization", "worker", "agent")
# What the balancer fronts: service -> (client variable, port).
BALANCED = {"api": ("API_URL", 8000), "stt": ("STT_URL", 8001), "diarization": ("DIARIZATION_URL", 8002)}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def documented() -> set[str]:
    return {m.group(1) for m in re.finditer(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)}


def test_all_services_present(compose: dict) -> None:
    assert set(compose["services"]) == set(OURS) | INFRA


def test_livekit_is_pinned_and_configured_by_file(compose: dict) -> None:
    livekit = compose["services"]["livekit"]
    assert livekit["image"] == "livekit/livekit-server:v1.13.5"
    assert "--config" in livekit["command"]
    config_path = livekit["volumes"][0].split(":")[0]
    config = yaml.safe_load((ROOT / config_path).read_text())
    assert config["port"] == 7880 and config["redis"]["address"] == "redis:6379"


@pytest.mark.parametrize("name", sorted(set(OURS) | INFRA))
def test_every_service_has_image_and_healthcheck(compose: dict, name: str) -> None:
    service = compose["services"][name]
    assert service.get("image") or service.get("build")
    assert service["healthcheck"]["test"]
    if name in OURS:
        build = service.get("build") or compose["services"]["api"]["build"]  # the worker runs the API image
        text = (ROOT / build["dockerfile"]).read_text()
        # The module run: the image's own CMD, or a command override (the bridge runs the agent image).
        assert f'-m", "{OURS[name]}"' in text or service.get("command", [])[-2:] == ["-m", OURS[name]]
        assert "--frozen --no-dev" in text  # lock file, no test tools in the image
        port = re.search(r"127\.0\.0\.1:(\d+)/health/ready", str(service["healthcheck"]["test"]))
        assert port, "healthcheck must wait for readiness"


@pytest.mark.parametrize("name", sorted(OURS))
def test_service_environment_is_documented(compose: dict, name: str) -> None:
    env = compose["services"][name]["environment"]
    assert set(env) <= documented(), set(env) - documented()


def test_model_services_wait_for_model_load_and_have_a_cache(compose: dict) -> None:
    for name in ("stt", "diarization"):
        service = compose["services"][name]
        assert int(service["healthcheck"]["start_period"].rstrip("s")) >= 120
        assert any(":/data/models" in v for v in service["volumes"])


@pytest.mark.parametrize("name", SCALED)
def test_replicated_services_are_scalable(compose: dict, name: str) -> None:
    service = compose["services"][name]
    assert "container_name" not in service and "ports" not in service


def balancer_config(compose: dict) -> Path:
    balancer = compose["services"]["balancer"]
    assert re.fullmatch(r"haproxy:\d+\.\d+\.\d+-alpine", balancer["image"]), "official image, pinned"
    mount = next(v for v in balancer["volumes"] if v.endswith(":/usr/local/etc/haproxy/haproxy.cfg:ro"))
    return ROOT / mount.split(":")[0]


def test_balancer_config_passes_haproxy_check(compose: dict) -> None:
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        pytest.skip("haproxy is not installed (scripts/setup.sh installs it)")
    # -dW: a warning fails the check too.
    check = subprocess.run([haproxy, "-dW", "-c", "-f", str(balancer_config(compose))], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def sections(config: str) -> dict[str, list[str]]:
    """HAProxy sections by header line, each the list of its statements (comments dropped)."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for raw in config.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not line[0].isspace():
            current = found.setdefault(line.strip(), [])
        else:
            current.append(" ".join(line.split()))
    return found


def test_balancer_discovers_replicas_through_docker_dns(compose: dict) -> None:
    config = sections(balancer_config(compose).read_text())
    assert "nameserver dns 127.0.0.11:53" in config["resolvers docker"]
    defaults = " ".join(config["defaults"])
    assert "mode http" in defaults and "timeout tunnel" in defaults  # WebSocket upgrades pass as tunnels
    assert re.search(r"default-server .*resolvers docker .*init-addr none", defaults)
    for name, (_var, port) in BALANCED.items():
        assert config[f"frontend {name}"] == [f"bind :{port}", f"default_backend {name}"]
        backend = config[f"backend {name}"]
        assert "balance leastconn" in backend
        assert "http-check send meth GET uri /health/ready" in backend and "http-check expect status 200" in backend
        template = next(s for s in backend if s.startswith("server-template "))
        # Slots for several replicas, filled from the service's DNS name at its own port, checked.
        _, _prefix, slots, target, *params = template.split()
        assert int(slots.split("-")[-1]) >= 4 and target == f"{name}:{port}" and "check" in params
    assert "8404/live" in str(compose["services"]["balancer"]["healthcheck"]["test"])
    assert set(compose["services"]["balancer"]["depends_on"]) == set(BALANCED)


@pytest.mark.parametrize("name", sorted(OURS))
def test_clients_reach_the_replicas_through_the_balancer(compose: dict, name: str) -> None:
    env = compose["services"][name]["environment"]
    for var, port in BALANCED.values():
        assert env[var] == f"http://balancer:{port}", (name, var)
    if name in ("worker", "agent", "bridge"):
        # They wait for the balancer (which waits for what it fronts), never for one replica.
        assert compose["services"][name]["depends_on"]["balancer"] == {"condition": "service_healthy"}
        assert not set(compose["services"][name]["depends_on"]) & set(BALANCED)


def docker_compose() -> list[str] | None:
    """The compose CLI (v2 or later: v1 cannot read this file's `env_file` entries), if any."""
    for argv in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(argv[0]):
            probe = subprocess.run([*argv, "version"], capture_output=True, text=True)
            if probe.returncode == 0 and not re.search(r"version 1\.", probe.stdout):
                return argv
    return None


def test_compose_config_validates_at_scale_two(tmp_path: Path) -> None:
    """`docker compose config` with every replicated service at scale 2 (as `--scale NAME=2`
    would set it): compose refuses a scaled service that has a container_name."""
    compose_cli = docker_compose()
    if compose_cli is None:
        pytest.skip("the docker compose CLI is not installed")
    override = tmp_path / "scale.yml"
    override.write_text(yaml.safe_dump({"services": {name: {"scale": 2} for name in SCALED}}))
    secrets = {
        var: "x" * 40
        for var in (
            "LIVEKIT_API_KEY",
            "LIVEKIT_API_SECRET",
            "REDIS_PASSWORD",
            "POSTGRES_PASSWORD",
            "AGENT_SERVICE_KEY",
            "WORKER_SERVICE_KEY",
        )
    }
    env = {
        **os.environ,
        **secrets,
        "PUBLIC_HOST": "meetings.example.com",
        "LIVEKIT_PUBLIC_URL": "wss://meetings.example.com:7880",
    }
    for files in (["docker-compose.yml"], ["docker-compose.yml", "docker-compose.gpu.yml"]):
        argv = [*compose_cli, *(a for f in files for a in ("-f", str(ROOT / f))), "-f", str(override)]
        checked = subprocess.run([*argv, "config", "--format", "json"], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        resolved = json.loads(checked.stdout)["services"]
        assert all(resolved[name]["scale"] == 2 for name in SCALED)


def test_gpu_override_reserves_a_gpu_for_model_services() -> None:
    gpu = yaml.safe_load((ROOT / "docker-compose.gpu.yml").read_text())
    for name in ("stt", "diarization"):
        devices = gpu["services"][name]["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["driver"] == "nvidia"


def locked_requirements(package: str) -> set[str]:
    """What the workspace lock installs for one member (its dev group included), on any platform."""
    uv = ROOT / ".tools" / "bin" / "uv"
    exported = subprocess.run(
        [str(uv) if uv.exists() else "uv", "export", "--frozen", "--package", package, "--no-hashes", "--no-header"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9._-]+)==", exported, re.M)}


def test_service_environments_exclude_torch_where_required() -> None:
    """The API and agent environments must never pull torch (the workspace's uv.lock is the truth)."""
    assert "torch" in locked_requirements("intrascribe-stt")  # the check itself sees torch where it is
    for package in ("intrascribe-api", "intrascribe-agent"):
        assert "torch" not in locked_requirements(package), package


def test_only_the_tls_proxy_and_livekit_publish_ports(compose: dict) -> None:
    assert {name for name, service in compose["services"].items() if service.get("ports")} == {"proxy", "livekit"}


def test_secrets_are_required_never_defaulted(compose: dict) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for var in (
        "LIVEKIT_API_KEY",
        "LIVEKIT_API_SECRET",
        "REDIS_PASSWORD",
        "POSTGRES_PASSWORD",
        "AGENT_SERVICE_KEY",
        "WORKER_SERVICE_KEY",
    ):
        assert f"${{{var}:?" in text, f"{var} must be required (${{{var}:?...}})"
    assert "devkey" not in text and not re.search(r":-(secret|intrascribe)\b", text)
    assert "--requirepass" in compose["services"]["redis"]["command"]
    for name in OURS:
        assert compose["services"][name]["environment"]["INTRASCRIBE_ENV"] == "production"


def test_each_service_gets_only_the_keys_it_needs(compose: dict) -> None:
    def callers(name: str) -> set[str]:
        raw = compose["services"][name]["environment"]["SERVICE_KEYS"]
        return set(json.loads(re.sub(r"\$\{([A-Z_]+)[^}]*\}", r"\1", raw)))

    assert callers("stt") == callers("diarization") == {"agent", "worker"}
    assert callers("api") == callers("agent") == callers("bridge") == {"agent"}
    assert callers("worker") == {"worker"}
