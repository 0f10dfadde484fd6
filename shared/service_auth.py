"""Service-to-service authentication with per-service credentials.

Each calling service has its own key (``SERVICE_KEYS={"api": "...", "agent": "..."}``) and sends
``X-Service-Key: <name>:<key>``. A callee accepts the callers listed in its own ``SERVICE_KEYS``,
so one service's key can be rotated or revoked without touching the others."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from fastapi import Depends, HTTPException, status
from starlette.requests import HTTPConnection

HEADER = "X-Service-Key"


def service_header(name: str, keys: dict[str, str]) -> dict[str, str]:
    """The header a service named ``name`` sends; empty when it has no key configured."""
    key = keys.get(name)
    return {HEADER: f"{name}:{key}"} if key else {}


def verify_service_key(value: str | None, keys: dict[str, str]) -> str:
    """Return the caller's name, or raise 401."""
    if not value or ":" not in value:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"missing {HEADER} header")
    name, _, key = value.partition(":")
    expected = keys.get(name)
    # Compare even when the name is unknown so timing does not reveal which names exist.
    if not hmac.compare_digest((expected or secrets.token_hex(16)).encode(), key.encode()) or expected is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid service credentials")
    return name


def credential_from(headers: Mapping[str, str]) -> str | None:
    """``X-Service-Key: name:key``, or ``Authorization: Bearer name:key`` for OpenAI-style clients."""
    if value := headers.get(HEADER):
        return value
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    return token if scheme.lower() == "bearer" and ":" in token else None


def require_service(keys: dict[str, str]) -> Any:
    """FastAPI dependency: the caller must be a known service."""

    def dependency(connection: HTTPConnection) -> str:
        caller = verify_service_key(credential_from(connection.headers), keys)
        connection.state.caller = caller
        return caller

    return Depends(dependency)
