"""Production mode refuses well-known and weak secrets: each rule on its own, and real service
processes that exit at start with one line naming the setting to change."""

from __future__ import annotations

import json
import os
import secrets
import subprocess

import pytest

from agent_service.settings import AgentSettings
from api_service.settings import APISettings
from devstack.components import ROOT
from shared import security
from stt_service.settings import STTSettings

pytestmark = [pytest.mark.unit]

STRONG = secrets.token_urlsafe(48)
KEYS = {"api": secrets.token_urlsafe(32), "agent": secrets.token_urlsafe(32)}
GOOD_API = {
    "service_keys": KEYS,
    "auth_jwt_secret": STRONG,
    "livekit_api_key": "APIx7Qm2",
    "livekit_api_secret": secrets.token_urlsafe(40),
    "redis_url": "redis://:s3cret-redis-password@redis.internal:6379/0",
    "database_url": f"postgresql+asyncpg://app:{secrets.token_urlsafe(24)}@db.internal:5432/app",
}


def problems(**overrides: object) -> list[str]:
    return APISettings(_env_file=None, **{**GOOD_API, **overrides}).production_problems()  # type: ignore[arg-type,call-arg]


def test_strong_settings_pass() -> None:
    assert problems() == []
    assert STTSettings(_env_file=None, service_keys=KEYS).production_problems() == []  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "overrides, setting",
    [
        ({"livekit_api_key": "devkey", "livekit_api_secret": "secret"}, "LIVEKIT_API_KEY"),
        ({"livekit_api_secret": "secret"}, "LIVEKIT_API_SECRET"),
        ({"auth_jwt_secret": "short-but-not-empty"}, "AUTH_JWT_SECRET"),
        ({"auth_jwt_secret": ""}, "AUTH_JWT_SECRET"),
        ({"auth_jwt_secret": "change-me-change-me-change-me-change-me"}, "AUTH_JWT_SECRET"),
        ({"service_keys": {}}, "SERVICE_KEYS"),
        ({"service_keys": {"api": "changeme"}}, "SERVICE_KEYS['api']"),
        ({"service_keys": {**KEYS, "worker": ""}}, "SERVICE_KEYS['worker']"),
        ({"redis_url": "redis://redis.internal:6379/0"}, "REDIS_URL"),
        ({"database_url": "postgresql+asyncpg://postgres:postgres@db.internal:5432/postgres"}, "DATABASE_URL"),
        ({"database_url": "postgresql+asyncpg://postgres@db.internal:5432/postgres"}, "DATABASE_URL"),
    ],
)
def test_each_weak_setting_is_named(overrides: dict[str, object], setting: str) -> None:
    found = problems(**overrides)
    assert len(found) >= 1 and any(p.startswith(setting) for p in found), found


def test_loopback_services_need_no_passwords() -> None:
    assert problems(redis_url="redis://127.0.0.1:6379/0", database_url="postgresql+asyncpg://postgres@localhost/x") == []
    assert problems(database_url="sqlite+aiosqlite:///data/intrascribe.db") == []


def test_jwks_only_deployments_need_no_jwt_secret() -> None:
    assert problems(auth_jwt_secret="", auth_jwks_url="https://x.supabase.co/auth/v1/.well-known/jwks.json") == []


def test_the_agent_checks_livekit_and_its_keys() -> None:
    found = AgentSettings(_env_file=None, service_keys={}).production_problems()  # type: ignore[call-arg]
    assert any(p.startswith("SERVICE_KEYS") for p in found) and any(p.startswith("LIVEKIT_API_KEY") for p in found)


@pytest.mark.parametrize(
    "module, env",
    [
        ("api_service", {"AUTH_JWT_SECRET": STRONG}),
        ("stt_service", {"SERVICE_KEYS": "{}"}),
        ("agent_service", {}),
    ],
)
def test_a_service_refuses_to_start_in_production_with_the_dev_pair(module: str, env: dict[str, str]) -> None:
    venv = ROOT / module / ".venv" / "bin" / "python"
    full_env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "INTRASCRIBE_ENV": "production",
        "SERVICE_KEYS": json.dumps(KEYS),
        "LIVEKIT_API_KEY": "devkey",
        "LIVEKIT_API_SECRET": "secret",
        **env,
    }
    run = subprocess.run([str(venv), "-m", module], env=full_env, cwd="/", capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr[-2000:]
    lines = [line for line in run.stderr.splitlines() if "refusing to start in production mode" in line]
    assert lines, run.stderr[-2000:]
    expected = "SERVICE_KEYS" if module == "stt_service" else "LIVEKIT_API_KEY"
    assert any(expected in line for line in lines), lines
    assert "Traceback" not in run.stderr


def test_weak_secret_messages_say_what_to_do() -> None:
    message = security.weak_secret("AUTH_JWT_SECRET", "abc")
    assert message and "at least 32" in message


def test_sign_up_is_closed_by_default_where_supabase_auth_signs_people_in() -> None:
    def policy(**settings: object) -> str:
        return APISettings(_env_file=None, **settings).signup_policy  # type: ignore[arg-type,call-arg]

    supabase = {"auth_supabase_url": "https://x.supabase.co", "auth_supabase_anon_key": "anon"}
    assert policy() == "open"
    assert policy(**supabase) == "closed"
    assert policy(auth_signup="invite", **supabase) == "invite"
