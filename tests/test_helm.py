"""The Helm chart (deploy/helm/intrascribe) cannot be installed here (no cluster), so it is
rendered and checked offline: helm v4 renders each values set, the project's validator
(deploy/helm/validate) decodes every object strictly into its typed Kubernetes struct, and these
tests check what the chart promises against the services' own code: fail closed without secrets,
hardened pods, probes on the ports the settings really use, the settings each service reads
(passing its production-mode checks), KEDA on the real dramatiq queue and the real metrics, CPU
HPAs without KEDA, and GPUs only where asked for.

The first run on a machine builds helm from the Go module proxy (scripts/helm_check.sh, a few
minutes on 2 cores, cached in ~/.cache/intrascribe/bin); later runs take seconds."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent_service.settings import AgentSettings, BridgeSettings
from api_service.settings import APISettings
from diarization_service.settings import DiarizationSettings
from shared.settings import ServiceSettings
from stt_service.settings import STTSettings

pytestmark = [pytest.mark.unit, pytest.mark.slow, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "helm_check.sh"
CHART = ROOT / "deploy" / "helm" / "intrascribe"
VALUES = ROOT / "deploy" / "helm" / "tests"
RELEASE, NAMESPACE = "intrascribe", "meetings"
PREFIX = f"{RELEASE}-"  # the release is named like the chart: objects are intrascribe-<component>

BASE = [VALUES / "common-values.yaml"]
SECRETS = [VALUES / "secrets-values.yaml"]
SCENARIOS: dict[str, tuple[list[Path], list[str]]] = {
    "default": ([*BASE, *SECRETS], []),
    "gpu": ([*BASE, *SECRETS, CHART / "values-gpu.yaml"], []),
    "keda-off": ([*BASE, *SECRETS, VALUES / "keda-off-values.yaml"], []),
    "existing-secret": (
        [*BASE, VALUES / "existing-secret-values.yaml"],
        ["-external-secret", "intrascribe-credentials", "-external-secret", "intrascribe-llm-keys"],
    ),
}
# Component: (its settings class, the settings field holding its port).
COMPONENTS: dict[str, tuple[type[ServiceSettings], str]] = {
    "api": (APISettings, "api_port"),
    "worker": (APISettings, "worker_http_port"),
    "agent": (AgentSettings, "agent_http_port"),
    "bridge": (BridgeSettings, "bridge_port"),
    "stt": (STTSettings, "stt_port"),
    "diarization": (DiarizationSettings, "diarization_port"),
}
TMP = "/tmp"  # noqa: S108 - the containers' /tmp (an emptyDir), not this machine's
# Variables the chart sets that no settings class reads: the pieces SERVICE_KEYS and REDIS_URL
# are built from, and where libraries keep caches under a read-only root file system.
HELPERS = {"AGENT_SERVICE_KEY", "WORKER_SERVICE_KEY", "REDIS_PASSWORD", "HOME", "XDG_CACHE_HOME", "NUMBA_CACHE_DIR",
           "MPLCONFIGDIR", "PYTHONDONTWRITEBYTECODE"}  # fmt: skip


def run(cmd: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=ROOT, **kwargs)


@pytest.fixture(scope="module")
def tools() -> dict[str, str]:
    """helm and the validator, built by the script when this machine has not got them yet."""
    done = run(["bash", SCRIPT, "--tools"], timeout=1700)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


def helm_template(tools: dict[str, str], files: list[Path], *extra: str) -> subprocess.CompletedProcess[str]:
    args: list[str | Path] = [tools["HELM"], "template", RELEASE, CHART, "--namespace", NAMESPACE]
    for f in files:
        args += ["-f", f]
    return run([*args, *extra], timeout=120)


@pytest.fixture(scope="module")
def rendered(tools: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("helm")
    paths = {}
    for name, (files, _) in SCENARIOS.items():
        done = helm_template(tools, files)
        assert done.returncode == 0, f"{name}: {done.stderr}"
        paths[name] = out / f"{name}.yaml"
        paths[name].write_text(done.stdout)
    return paths


def objects(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(path: Path, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects(path) if o["kind"] == kind}


def deployment(path: Path, component: str) -> dict[str, Any]:
    return by_kind(path, "Deployment")[PREFIX + component]


def container(path: Path, component: str) -> dict[str, Any]:
    containers = deployment(path, component)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def validate(tools: dict[str, str], path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return run([tools["VALIDATE"], *flags, path], timeout=60)


# --- rendering and strict validation ------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_renders_and_every_object_decodes_strictly(tools: dict[str, str], rendered: dict[str, Path], scenario: str) -> None:
    done = validate(tools, rendered[scenario], *SCENARIOS[scenario][1])
    assert done.returncode == 0, done.stderr
    assert "validate: OK" in done.stdout
    kinds = {o["kind"] for o in objects(rendered[scenario])}
    assert {"Deployment", "Service", "PodDisruptionBudget", "ConfigMap", "Ingress", "ServiceAccount"} <= kinds
    assert {n.removeprefix(PREFIX) for n in by_kind(rendered[scenario], "Deployment")} == set(COMPONENTS)
    assert {n.removeprefix(PREFIX) for n in by_kind(rendered[scenario], "PodDisruptionBudget")} == set(COMPONENTS)


def test_helm_lint_is_clean(tools: dict[str, str]) -> None:
    files = [a for f in SCENARIOS["default"][0] for a in ("-f", str(f))]
    done = run([tools["HELM"], "lint", "--strict", CHART, *files], timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_whole_check_script_passes(tools: dict[str, str]) -> None:
    done = run(["bash", SCRIPT], timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "helm chart OK" in done.stderr


# --- fails closed ---------------------------------------------------------------------------------


def test_values_yaml_holds_no_secret() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["secrets"]["existingSecret"] == ""
    assert {k: v for k, v in values["secrets"].items() if v} == {}


@pytest.mark.parametrize(
    ("case", "files", "extra", "message"),
    [
        ("no values", [], [], "secrets.authJwtSecret is required"),
        ("no secrets", BASE, [], "secrets.authJwtSecret is required"),
        ("no LiveKit secret", [*BASE, *SECRETS], ["--set", "secrets.livekitApiSecret="], "secrets.livekitApiSecret is required"),
        ("no database", [*BASE, *SECRETS], ["--set", "secrets.databaseUrl="], "secrets.databaseUrl is required"),
        ("no Redis password", [*BASE, *SECRETS], ["--set", "secrets.redisPassword="], "secrets.redisPassword is required"),
        ("no worker key", [*BASE, *SECRETS], ["--set", "secrets.workerServiceKey="], "secrets.workerServiceKey is required"),
        ("SQLite", [*BASE, *SECRETS], ["--set", "secrets.databaseUrl=sqlite+aiosqlite:///data/x.db"], "must be a PostgreSQL URL"),
        ("short key", [*BASE, *SECRETS], ["--set", "secrets.agentServiceKey=short"], "use at least 32 random bytes"),
        ("dev key", [*BASE, *SECRETS], ["--set", "secrets.livekitApiKey=devkey"], "development or placeholder key"),
        ("mixed", [*BASE, *SECRETS], ["--set", "secrets.existingSecret=creds"], "is set together with secrets.existingSecret"),
        ("supabase", [*BASE, *SECRETS], ["--set", "storage.audio.backend=supabase", "--set", "storage.supabase.url=https://x.supabase.co"],
         "secrets.supabaseServiceKey is required"),
        ("no Redis host", [*SECRETS, *BASE], ["--set", "redis.host="], "redis.host is required"),
        ("no public LiveKit", [*SECRETS, *BASE], ["--set", "livekit.publicUrl="], "livekit.publicUrl is required"),
        ("no ingress host", [*SECRETS, *BASE], ["--set", "ingress.host="], "ingress.host is required"),
    ],
)  # fmt: skip
def test_rendering_without_what_is_required_fails_with_a_message(
    tools: dict[str, str], case: str, files: list[Path], extra: list[str], message: str
) -> None:
    done = helm_template(tools, files, *extra)
    assert done.returncode != 0, f"{case}: rendered"
    assert message in done.stderr, done.stderr


def test_an_existing_secret_is_the_only_source_of_credentials(rendered: dict[str, Path]) -> None:
    path = rendered["existing-secret"]
    assert by_kind(path, "Secret") == {}
    for component in COMPONENTS:
        for env in container(path, component)["env"]:
            if ref := env.get("valueFrom", {}).get("secretKeyRef"):
                assert ref["name"] == "intrascribe-credentials"
    auth = by_kind(path, "TriggerAuthentication")[PREFIX + "redis"]
    expected = {"parameter": "password", "name": "intrascribe-credentials", "key": "REDIS_PASSWORD"}
    assert auth["spec"]["secretTargetRef"] == [expected]


# --- what each service gets ---------------------------------------------------------------------


def environment(path: Path, component: str) -> dict[str, str]:
    """The container's environment as Kubernetes would give it: the ConfigMap, then env in order
    with secretKeyRefs read from the rendered Secret and $(NAME) expanded from earlier entries."""
    docs = objects(path)
    configmaps = {o["metadata"]["name"]: o.get("data", {}) for o in docs if o["kind"] == "ConfigMap"}
    secrets = {
        o["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in o.get("data", {}).items()}
        for o in docs
        if o["kind"] == "Secret"
    }
    ctr = container(path, component)
    env: dict[str, str] = {}
    for source in ctr.get("envFrom", []):
        if ref := source.get("configMapRef"):
            env.update(configmaps[ref["name"]])
    for item in ctr["env"]:
        if "value" in item:
            env[item["name"]] = re.sub(r"\$\(([A-Za-z0-9_]+)\)", lambda m: env[m.group(1)], item["value"])
        elif ref := item["valueFrom"].get("secretKeyRef"):
            if ref["key"] in secrets[ref["name"]]:
                env[item["name"]] = secrets[ref["name"]][ref["key"]]
            else:
                assert ref.get("optional"), f"{component}: {ref} is missing"
    return env


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for settings_class, _ in COMPONENTS.values():
        for name in settings_class.model_fields:
            monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


@pytest.mark.parametrize("component", COMPONENTS)
def test_each_service_gets_settings_it_reads_and_passes_production_mode(
    rendered: dict[str, Path], clean_env: pytest.MonkeyPatch, component: str
) -> None:
    settings_class, port_field = COMPONENTS[component]
    env = environment(rendered["default"], component)
    # Its own variables are settings it reads; the shared ConfigMap's are read by some service
    # (docker-compose gives every service the same common ones).
    read = {name.upper() for name in settings_class.model_fields}
    own = {item["name"] for item in container(rendered["default"], component)["env"]}
    assert not own - read - HELPERS, f"{component} is given variables it does not read: {sorted(own - read - HELPERS)}"
    read_anywhere = {name.upper() for cls, _ in COMPONENTS.values() for name in cls.model_fields}
    assert not set(env) - read_anywhere - HELPERS, sorted(set(env) - read_anywhere - HELPERS)
    for name, value in env.items():
        clean_env.setenv(name, value)
    settings = settings_class(_env_file=None)  # type: ignore[call-arg]
    assert settings.intrascribe_env == "production"
    assert settings.production_problems() == []
    # It listens on every address, on its own default port, which is the container's port.
    port = settings_class.model_fields[port_field].default
    assert getattr(settings, port_field) == port
    host_field = {"worker": "api_host"}.get(component, port_field.replace("_port", "_host"))
    assert getattr(settings, host_field) == "0.0.0.0"
    assert container(rendered["default"], component)["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    # The same per-caller keys docker-compose gives each service (shared/service_auth.py).
    callers = {"api": {"agent"}, "worker": {"worker"}, "agent": {"agent"}, "bridge": {"agent"}}
    assert set(settings.service_keys) == callers.get(component, {"agent", "worker"})
    if isinstance(settings, APISettings | AgentSettings):
        assert settings.redis_url.startswith("redis://:") and "$(" not in settings.redis_url
    if isinstance(settings, APISettings):
        assert settings.database_url.startswith("postgresql+asyncpg://")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_container_is_hardened_and_probed(rendered: dict[str, Path], scenario: str) -> None:
    for name, dep in by_kind(rendered[scenario], "Deployment").items():
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes["tmp"], name
        for ctr in pod["containers"]:
            sc = ctr["securityContext"]
            assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}, name
            assert TMP in {m["mountPath"] for m in ctr["volumeMounts"]}, name
            assert ctr["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}, name
            assert ctr["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}, name
            assert ctr["startupProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}, name
            assert "cpu" in ctr["resources"]["requests"], name


def test_writable_places_are_volumes(rendered: dict[str, Path]) -> None:
    """With a read-only root, what a service writes goes to a mounted volume."""
    env = {c: environment(rendered["default"], c) for c in COMPONENTS}
    mounts = {c: {m["mountPath"] for m in container(rendered["default"], c)["volumeMounts"]} for c in COMPONENTS}
    assert env["api"]["AUDIO_STORAGE_DIR"] in mounts["api"] and env["worker"]["AUDIO_STORAGE_DIR"] in mounts["worker"]
    assert env["agent"]["AGENT_OUTBOX_DIR"] in mounts["agent"]
    assert env["stt"]["STT_MODEL_CACHE_DIR"] in mounts["stt"]
    assert env["diarization"]["DIARIZATION_MODEL_CACHE_DIR"] in mounts["diarization"]
    for c in COMPONENTS:
        assert env[c]["HOME"].startswith(TMP) and env[c]["XDG_CACHE_HOME"].startswith(TMP)
    # API and workers share one volume for recordings (ReadWriteMany).
    claim = {c: next(v for v in deployment(rendered["default"], c)["spec"]["template"]["spec"]["volumes"] if v["name"] == "audio")
             for c in ("api", "worker")}  # fmt: skip
    assert claim["api"] == claim["worker"]
    pvc = by_kind(rendered["default"], "PersistentVolumeClaim")[claim["api"]["persistentVolumeClaim"]["claimName"]]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]


def test_ingress_sends_devices_to_the_bridge_and_the_rest_to_the_api(rendered: dict[str, Path]) -> None:
    ingress = by_kind(rendered["default"], "Ingress")[RELEASE]
    paths = {p["path"]: (p["pathType"], p["backend"]["service"]["name"]) for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert paths == {"/v1/device": ("Exact", PREFIX + "bridge"), "/": ("Prefix", PREFIX + "api")}
    assert ingress["spec"]["tls"] == [{"hosts": ["meetings.example.com"], "secretName": "meetings-example-com-tls"}]


# --- autoscaling ------------------------------------------------------------------------------------


def test_keda_on_scales_the_queue_driven_components_with_scaled_objects(rendered: dict[str, Path]) -> None:
    scaled = by_kind(rendered["default"], "ScaledObject")
    assert {n.removeprefix(PREFIX) for n in scaled} == {"worker", "agent", "stt", "diarization"}
    for name, so in scaled.items():
        assert so["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert "replicas" not in by_kind(rendered["default"], "Deployment")[name]["spec"]
    assert set(by_kind(rendered["default"], "HorizontalPodAutoscaler")) == {PREFIX + "api"}


def test_keda_off_falls_back_to_cpu_hpas(rendered: dict[str, Path]) -> None:
    path = rendered["keda-off"]
    assert by_kind(path, "ScaledObject") == {} and by_kind(path, "TriggerAuthentication") == {}
    hpas = by_kind(path, "HorizontalPodAutoscaler")
    assert {n.removeprefix(PREFIX) for n in hpas} == set(COMPONENTS)
    for hpa in hpas.values():
        assert hpa["apiVersion"] == "autoscaling/v2"
        [metric] = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["type"] == "Utilization"


def test_workers_scale_on_the_real_dramatiq_queues(rendered: dict[str, Path]) -> None:
    broker = (ROOT / "api_service" / "jobs" / "broker.py").read_text()
    [namespace] = re.findall(r'RedisBroker\([^)]*namespace="([^"]+)"', broker, re.S)
    queues = set()
    for module in (ROOT / "api_service" / "jobs").glob("*.py"):
        queues |= set(re.findall(r'queue_name="([^"]+)"', module.read_text()))
    assert queues == {"batch", "webhooks"}
    # dramatiq's Redis broker keeps a queue's message ids in the list <namespace>:<queue>.
    lua = next((ROOT / "api_service" / ".venv").glob("lib/python*/site-packages/dramatiq/brokers/redis/dispatch.lua"), None)
    if lua is not None:
        assert 'local queue_full_name = namespace .. ":" .. queue_name' in lua.read_text()
        assert 'redis.call("rpush", queue_full_name, message_id)' in lua.read_text()
    so = by_kind(rendered["default"], "ScaledObject")[PREFIX + "worker"]
    triggers = so["spec"]["triggers"]
    assert {t["type"] for t in triggers} == {"redis"}
    assert {t["metadata"]["listName"] for t in triggers} == {f"{namespace}:{q}" for q in queues}
    for t in triggers:
        assert t["metadata"]["address"] == "redis-master.redis.svc.cluster.local:6379"
        assert "password" not in t["metadata"] and t["authenticationRef"] == {"name": PREFIX + "redis"}
    assert so["spec"]["minReplicaCount"] >= 1  # the worker also sweeps stale sessions and sends webhooks


def test_prometheus_triggers_use_metrics_the_services_export(rendered: dict[str, Path]) -> None:
    scaled = by_kind(rendered["default"], "ScaledObject")
    exported = {
        "agent": (ROOT / "agent_service" / "__main__.py", "agent_active_rooms"),
        "stt": (ROOT / "stt_service" / "scheduler.py", "stt_queue_depth"),
        "diarization": (ROOT / "diarization_service" / "app.py", "diarization_waiting"),
    }
    for component, (source, metric) in exported.items():
        assert f'Gauge("{metric}"' in source.read_text()
        [trigger] = scaled[PREFIX + component]["spec"]["triggers"]
        assert trigger["type"] == "prometheus"
        query = trigger["metadata"]["query"]
        assert query == f'sum({metric}{{namespace="{NAMESPACE}",pod=~"{PREFIX}{component}-.*"}})'
        assert trigger["metadata"]["serverAddress"] == "http://prometheus-operated.monitoring.svc:9090"
    # An agent takes at most AGENT_MAX_ROOMS rooms: scale before they are all taken.
    [trigger] = scaled[PREFIX + "agent"]["spec"]["triggers"]
    assert 0 < float(trigger["metadata"]["threshold"]) < AgentSettings.model_fields["agent_max_rooms"].default


def test_gpus_only_where_asked_for(rendered: dict[str, Path]) -> None:
    def gpu_of(path: Path, component: str) -> tuple[Any, ...]:
        pod = deployment(path, component)["spec"]["template"]["spec"]
        ctr = pod["containers"][0]
        return (ctr["resources"].get("limits", {}).get("nvidia.com/gpu"), pod.get("nodeSelector"), bool(pod.get("tolerations")))

    for component in COMPONENTS:
        assert gpu_of(rendered["default"], component) == (None, None, False)
    for component, device_var in (("stt", "STT_DEVICE"), ("diarization", "DIARIZATION_DEVICE")):
        assert gpu_of(rendered["gpu"], component) == (1, {"nvidia.com/gpu.present": "true"}, True)
        assert environment(rendered["gpu"], component)[device_var] == "cuda"
        assert device_var not in environment(rendered["default"], component)
    for component in ("api", "worker", "agent", "bridge"):
        assert gpu_of(rendered["gpu"], component) == (None, None, False)


# --- the validator catches what it claims to ------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "old", "new", "message"),
    [
        ("unknown field", "imagePullPolicy: IfNotPresent", "imagePullPolicy: IfNotPresent\n          imagePullPolicyy: Always",
         'unknown field "spec.template.spec.containers[0].imagePullPolicyy"'),
        ("miscased field", "revisionHistoryLimit: 5", "RevisionHistoryLimit: 5", "unknown field"),
        ("wrong type", "containerPort: 8000", 'containerPort: "8000"', "cannot unmarshal"),
        ("duplicate key", "revisionHistoryLimit: 5", "revisionHistoryLimit: 5\n  revisionHistoryLimit: 6", "key given twice"),
        ("writable root", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem is not true"),
        ("escalation", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true",
         "allowPrivilegeEscalation is not false"),
        ("root", "runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot is not true"),
        ("probe path", "path: /health/ready", "path: /healthz", "readinessProbe path"),
        ("env order", "- name: AGENT_SERVICE_KEY", "- name: AGENT_SERVICE_KEY_OTHER",
         "uses $(AGENT_SERVICE_KEY), which is not defined"),
        ("KEDA field", "pollingInterval: 15", "pollingIntervall: 15", 'unknown field "spec.pollingIntervall"'),
        ("KEDA metadata", "listName:", "listname:", 'metadata key "listname"'),
        ("KEDA type", 'listLength: "2"', "listLength: 2", "cannot unmarshal number"),
        ("missing secret key", "key: DATABASE_URL", "key: DATABASE_URI", 'has no key "DATABASE_URI"'),
        ("selector", "app.kubernetes.io/component: bridge\n  ports:", "app.kubernetes.io/component: bridges\n  ports:",
         "matches no Deployment"),
    ],
)  # fmt: skip
def test_the_validator_rejects_broken_manifests(
    tools: dict[str, str], rendered: dict[str, Path], tmp_path: Path, case: str, old: str, new: str, message: str
) -> None:
    text = rendered["default"].read_text()
    assert old in text, f"{case}: {old!r} is not in the render any more"
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace(old, new, 1))
    done = validate(tools, broken)
    assert done.returncode == 1, f"{case}: accepted"
    assert message in done.stderr, done.stderr


def test_the_validator_summary_lists_every_object(tools: dict[str, str], rendered: dict[str, Path]) -> None:
    done = validate(tools, rendered["default"], "-summary")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert sorted(summary["ScaledObject"]) == sorted(PREFIX + c for c in ("worker", "agent", "stt", "diarization"))
    assert sum(len(v) for v in summary.values()) == len(objects(rendered["default"]))
