"""User authentication. Every request carries a bearer JWT whose signature, expiry and audience
are verified: HS256 with the project secret (local accounts, and Supabase projects' legacy JWT
secret), or RS256/ES256 against a JWKS (Supabase's asymmetric keys). Local accounts issue tokens
of the same shape, so switching to Supabase Auth changes configuration, not code. Routes get the signed-in user
from ``deps.CurrentUserDep``."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from fastapi import HTTPException, status

from api_service.settings import APISettings

_hasher = PasswordHasher()
ISSUER = "intrascribe"


@dataclass(frozen=True)
class CurrentUser:
    id: str
    email: str | None = None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


# What a log-in for an unknown email is checked against (made once, at import).
_UNKNOWN_ACCOUNT_HASH = _hasher.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    """In a thread: argon2 takes tens of milliseconds of CPU, never spent on the event loop."""
    return await asyncio.to_thread(_hasher.hash, password)


async def check_password(password_hash: str | None, password: str) -> bool:
    """In a thread; an account without a password (or none at all) is checked against a hash of
    a random password, so the time taken does not tell whether an email has an account."""
    matched = await asyncio.to_thread(_verify, password_hash or _UNKNOWN_ACCOUNT_HASH, password)
    return matched and bool(password_hash)


def issue_token(settings: APISettings, user_id: str, email: str | None) -> tuple[str, int]:
    now = int(time.time())
    claims = {
        "sub": user_id,
        "email": email,
        "aud": settings.auth_jwt_audience,
        "role": "authenticated",
        "iss": ISSUER,
        "iat": now,
        "exp": now + settings.auth_token_ttl_s,
    }
    return jwt.encode(claims, settings.auth_jwt_secret, algorithm="HS256"), settings.auth_token_ttl_s


@cache
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600)


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


async def decode_token(settings: APISettings, token: str) -> dict[str, object]:
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
        if algorithm == "HS256":
            key: Any = settings.auth_jwt_secret
        elif algorithm in {"RS256", "ES256"} and settings.auth_jwks_url:
            key = (await asyncio.to_thread(_jwks_client(settings.auth_jwks_url).get_signing_key_from_jwt, token)).key
        else:
            raise unauthorized(f"unsupported token algorithm {algorithm!r}")
        return jwt.decode(
            token,
            key,
            algorithms=[str(algorithm)],
            audience=settings.auth_jwt_audience,
            options={"require": ["exp", "sub"]},
            leeway=10,
        )
    except jwt.ExpiredSignatureError:
        raise unauthorized("token expired") from None
    except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
        raise unauthorized(f"invalid token: {exc}") from None
