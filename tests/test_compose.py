"""docker-compose.yml cannot run here (no Docker engine), so check its shape: every service has
an image or build with an existing Dockerfile, a healthcheck, and only documented variables."""

from __future__ import annotations

import json
import re
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
INFRA = {"livekit", "redis", "postgres", "proxy"}


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


def test_agent_is_scalable(compose: dict) -> None:
    agent = compose["services"]["agent"]
    assert "container_name" not in agent and "ports" not in agent


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
