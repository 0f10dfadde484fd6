"""Production mode: every service refuses to start with well-known or weak secrets.

``INTRASCRIBE_ENV=production`` (the default) checks the settings a service reads before it
serves anything; each problem is one line naming the setting to change. ``development`` (set by
``make run``/``make up`` and the test harness, which run everything on loopback with generated
secrets) skips the checks. The rules live here; each settings class lists which apply to it
(``production_problems``)."""

from __future__ import annotations

import ipaddress
import logging
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

MIN_SECRET_BYTES = 32
# livekit-server --dev's pair, documentation examples, and words people leave in config files.
WELL_KNOWN = {"devkey", "secret", "changeme", "change-me", "password", "postgres", "example", "test", "admin"}
DEFAULT_DB_PASSWORDS = {"", "postgres", "password", "supabase", "changeme", "change-me"}


def _placeholder(value: str) -> bool:
    lowered = value.strip().lower()
    return lowered in WELL_KNOWN or "change" in lowered or "example" in lowered or len(set(lowered)) < 6


def weak_secret(name: str, value: str, min_bytes: int = MIN_SECRET_BYTES) -> str | None:
    if not value:
        return f"{name} is empty; set it to a random value of at least {min_bytes} bytes (e.g. `openssl rand -base64 48`)."
    if _placeholder(value):
        return f"{name} is a well-known or placeholder value; set it to a random value of at least {min_bytes} bytes."
    if len(value.encode()) < min_bytes:
        return f"{name} is {len(value.encode())} bytes; use at least {min_bytes} random bytes."
    return None


def service_keys_problems(keys: dict[str, str]) -> list[str]:
    if not keys:
        return ['SERVICE_KEYS is empty; give each calling service its own random key (JSON {"api": "...", ...}).']
    return [p for caller, key in sorted(keys.items()) if (p := weak_secret(f"SERVICE_KEYS[{caller!r}]", key))]


def livekit_problems(api_key: str, api_secret: str) -> list[str]:
    problems = []
    if api_key in WELL_KNOWN or not api_key:
        problems.append("LIVEKIT_API_KEY is livekit-server's development key; create your own key pair for the server.")
    if problem := weak_secret("LIVEKIT_API_SECRET", api_secret):
        problems.append(problem)
    return problems


def _loopback(host: str | None) -> bool:
    if not host or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redis_problems(url: str) -> list[str]:
    parts = urlsplit(url)
    if parts.scheme == "unix" or _loopback(parts.hostname) or parts.password:
        return []
    return [f"REDIS_URL reaches {parts.hostname} without a password; set one (redis://:PASSWORD@host:6379/0) or use loopback."]


def database_problems(url: str) -> list[str]:
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres") or _loopback(parts.hostname):
        return []
    if (parts.password or "") in DEFAULT_DB_PASSWORDS:
        return ["DATABASE_URL uses an empty or default PostgreSQL password; set a strong one on the server and in the URL."]
    return []


def enforce(settings: ServiceSettings, service: str) -> None:
    """Exit (status 2) with one line per problem when production mode finds weak settings."""
    if settings.intrascribe_env == "development":
        log.warning("%s runs in development mode: secrets are not checked (INTRASCRIBE_ENV=production to check them)", service)
        return
    problems = settings.production_problems()
    if problems:
        for problem in problems:
            print(f"{service}: refusing to start in production mode: {problem}", file=sys.stderr)
        print(f"{service}: set INTRASCRIBE_ENV=development only for local, loopback-only use.", file=sys.stderr)
        raise SystemExit(2)
