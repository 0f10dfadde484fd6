"""Password reset by e-mail, against a real Redis and a real SMTP server on loopback (aiosmtpd):
the link arrives and works once; expired, used, superseded and forged links are refused with a
sentence; an unknown address gets the same answer and no e-mail; requests are rate limited; the
account's earlier tokens stop working. The API runs in process, each test from its own client
address (the rate limits count per address)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from api_service import admin, password_reset
from api_service.app import create_app
from api_service.settings import APISettings
from tests.mail_server import MailServer

pytestmark = [pytest.mark.service]
PASSWORD = "correct horse battery"  # noqa: S105 - a test account's password
LINK = re.compile(r"http://notes\.example\.test/reset-password#token=([\w-]+)")
SAME_ANSWER = "If an account uses this e-mail address, a link to choose a new password is on its way."


@pytest.fixture(scope="module")
def smtp() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


def settings_for(folder: Path, redis_url: str, **extra: object) -> APISettings:
    return APISettings(
        database_url=f"sqlite+aiosqlite:///{folder}/api.db",
        redis_url=redis_url,
        auth_jwt_secret="password-reset-tests-secret-0123456789abcdef",  # noqa: S106 - a test secret
        audio_storage_dir=str(folder / "audio"),
        public_base_url="http://notes.example.test/",
        auth_rate_limit_per_minute=5,
        intrascribe_env="development",
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
async def app(tmp_path_factory: pytest.TempPathFactory, redis_url: str, smtp: MailServer) -> AsyncIterator[FastAPI]:
    folder = tmp_path_factory.mktemp("reset")
    settings = settings_for(folder, redis_url, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def client(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://api")


async def new_account(api: httpx.AsyncClient) -> tuple[str, str]:
    """(email, bearer token)."""
    address = f"{uuid.uuid4().hex[:10]}@example.com"
    made = await api.post("/api/v1/auth/signup", json={"email": address, "password": PASSWORD})
    assert made.status_code == 201, made.text
    return address, made.json()["access_token"]


async def ask_for_link(api: httpx.AsyncClient, mailbox: MailServer, address: str, typed: str | None = None) -> str:
    before = len(mailbox.to(address))
    answer = await api.post("/api/v1/auth/password-reset", json={"email": typed or address})
    assert answer.status_code == 202, answer.text
    assert answer.json()["detail"].startswith(SAME_ANSWER)
    received = await mailbox.wait_for(address, before + 1)
    assert len(received) == before + 1, "no e-mail arrived"
    found = LINK.search(received[-1].get_content())
    assert found, received[-1].get_content()
    return found.group(1)


async def test_the_link_arrives_and_sets_a_new_password_once(app: FastAPI, smtp: MailServer) -> None:
    mailbox = smtp
    async with client(app, "198.51.100.10") as api:
        address, old_token = await new_account(api)
        assert (await api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old_token}"})).status_code == 200
        await asyncio.sleep(1.1)  # tokens carry whole seconds: the old one is from an earlier second than the reset
        token = await ask_for_link(api, mailbox, address, address.upper())  # the address is matched whatever its case
        message = mailbox.to(address)[-1]
        assert message["Subject"] == "Reset your Intrascribe password"
        assert "works once, within 30 minutes" in message.get_content()

        changed = await api.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": "a brand new secret"})
        assert changed.status_code == 200, changed.text
        assert changed.json() == {"detail": "Your password was changed. Sign in with the new one."}

        # The new password signs in; the old one no longer does; the token from before the reset is refused.
        old = await api.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD})
        assert old.status_code == 401
        new = await api.post("/api/v1/auth/login", json={"email": address, "password": "a brand new secret"})
        assert new.status_code == 200, new.text
        fresh = {"Authorization": f"Bearer {new.json()['access_token']}"}
        assert (await api.get("/api/v1/auth/me", headers=fresh)).status_code == 200
        stale = await api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old_token}"})
        assert stale.status_code == 401
        assert stale.json()["detail"] == "This sign-in ended when the password was changed; sign in again."

        # The link works once.
        again = await api.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": "yet another secret"})
        assert again.status_code == 400 and again.json()["detail"] == password_reset.INVALID
        still = await api.post("/api/v1/auth/login", json={"email": address, "password": "a brand new secret"})
        assert still.status_code == 200


async def test_expired_superseded_forged_and_weak_are_refused(app: FastAPI, smtp: MailServer, redis_url: str) -> None:
    mailbox = smtp
    redis = Redis.from_url(redis_url)
    async with client(app, "198.51.100.11") as api:
        address, _ = await new_account(api)
        confirm = "/api/v1/auth/password-reset/confirm"

        # Expired: Redis keeps only the token's hash, for the link's lifetime; when it lapses the link is refused.
        token = await ask_for_link(api, mailbox, address)
        keys = [key async for key in redis.scan_iter("password-reset:*")]
        assert all(token not in key.decode() for key in keys)  # never the token itself
        key = password_reset._key(token)
        assert 1790 <= await redis.ttl(key) <= 1800
        await redis.pexpire(key, 1)
        await asyncio.sleep(0.05)
        expired = await api.post(confirm, json={"token": token, "password": "a brand new secret"})
        assert expired.status_code == 400 and expired.json()["detail"] == password_reset.INVALID

        # Two links: once one has set the password, the other (older) one no longer works.
        first = await ask_for_link(api, mailbox, address)
        second = await ask_for_link(api, mailbox, address)
        assert first != second
        assert (await api.post(confirm, json={"token": second, "password": "a brand new secret"})).status_code == 200
        superseded = await api.post(confirm, json={"token": first, "password": "another new secret"})
        assert superseded.status_code == 400 and superseded.json()["detail"] == password_reset.INVALID

        # Forged or mangled tokens; a password that breaks sign-up's rules (the link is not used up).
        forged = await api.post(confirm, json={"token": "x" * 43, "password": "a brand new secret"})
        assert forged.status_code == 400 and forged.json()["detail"] == password_reset.INVALID
        assert (await api.post(confirm, json={"token": "short", "password": "a brand new secret"})).status_code == 422
        third = await ask_for_link(api, mailbox, address)
        weak = await api.post(confirm, json={"token": third, "password": "short"})
        assert weak.status_code == 422 and "at least 8 characters" in weak.text
        assert (await api.post(confirm, json={"token": third, "password": "the final secret"})).status_code == 200
        assert (await api.post("/api/v1/auth/login", json={"email": address, "password": "the final secret"})).status_code == 200
    await redis.aclose()


async def test_an_unknown_address_gets_the_same_answer_and_no_email(app: FastAPI, smtp: MailServer) -> None:
    mailbox = smtp
    async with client(app, "198.51.100.12") as api:
        known, _ = await new_account(api)
        unknown = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
        answers = [await api.post("/api/v1/auth/password-reset", json={"email": e}) for e in (known, unknown)]
        assert [a.status_code for a in answers] == [202, 202]
        assert answers[0].json() == answers[1].json()
        assert len(await mailbox.wait_for(known, 1)) == 1
        await asyncio.sleep(0.5)  # time enough for a second e-mail, were one sent
        assert mailbox.to(unknown) == []
        assert all(unknown not in str(m["To"]) for m in mailbox.messages)
        # Not an address at all: a 422 that says so.
        bad = await api.post("/api/v1/auth/password-reset", json={"email": "not an address"})
        assert bad.status_code == 422 and "email" in bad.text


async def test_a_chinese_request_gets_the_email_in_chinese_and_english(app: FastAPI, smtp: MailServer) -> None:
    mailbox = smtp
    async with client(app, "198.51.100.13") as api:
        address, _ = await new_account(api)
        for body, headers in (({"language": "zh"}, {}), ({}, {"Accept-Language": "zh-CN,zh;q=0.9"})):
            answer = await api.post("/api/v1/auth/password-reset", json={"email": address, **body}, headers=headers)
            assert answer.status_code == 202
            message = (await mailbox.wait_for(address, 1 + (headers != {})))[-1]
            assert message["Subject"] == "重置您的 Intrascribe 密码 / Reset your Intrascribe password"
            text = message.get_content()
            assert "请在此设置新密码" in text and "Choose a new password here" in text
            assert len(LINK.findall(text)) == 2  # the same link in both languages


async def test_requests_are_rate_limited_per_address_and_per_email(app: FastAPI, smtp: MailServer) -> None:
    mailbox = smtp
    async with client(app, "198.51.100.14") as api:
        address, _ = await new_account(api)
    # One address asking about many e-mails: 5 a minute (AUTH_RATE_LIMIT_PER_MINUTE), then 429.
    async with client(app, "198.51.100.15") as api:
        asked = [await api.post("/api/v1/auth/password-reset", json={"email": f"r{i}@example.com"}) for i in range(6)]
        codes = [answer.status_code for answer in asked]
        assert codes == [202] * 5 + [429]
        refused = await api.post("/api/v1/auth/password-reset", json={"email": address})
        assert refused.status_code == 429 and "Too many password-reset attempts; try again in" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) > 0
    # Many addresses asking about one e-mail: 5 a minute too, so no one's mailbox is flooded.
    for i in range(6):
        async with client(app, f"203.0.113.{20 + i}") as api:
            answer = await api.post("/api/v1/auth/password-reset", json={"email": address})
            assert answer.status_code == (202 if i < 5 else 429), (i, answer.text)
    assert len(await mailbox.wait_for(address, 5)) == 5
    await asyncio.sleep(0.5)
    assert len(mailbox.to(address)) == 5


async def test_without_smtp_the_answer_says_to_ask_the_administrator(tmp_path: Path, redis_url: str) -> None:
    app = create_app(settings_for(tmp_path, redis_url))
    async with app.router.lifespan_context(app), client(app, "198.51.100.16") as api:
        assert (await api.get("/api/v1/config")).json()["auth"]["recovery"] == "admin"
        answer = await api.post("/api/v1/auth/password-reset", json={"email": "someone@example.com"})
        assert answer.status_code == 503
        assert "python -m api_service.admin reset-password" in answer.json()["detail"]


async def test_the_config_tells_the_web_app_that_email_works(app: FastAPI) -> None:
    async with client(app, "198.51.100.17") as api:
        assert (await api.get("/api/v1/config")).json()["auth"] == {
            "provider": "local",
            "recovery": "email",
            "supabase_url": None,
            "supabase_anon_key": None,
        }


async def test_the_admin_command_also_ends_earlier_sign_ins_and_links(app: FastAPI, smtp: MailServer) -> None:
    async with client(app, "198.51.100.18") as api:
        address, old_token = await new_account(api)
        link = await ask_for_link(api, smtp, address)
        await asyncio.sleep(1.1)  # whole seconds again: the reset comes in a later second than the token
        done = await admin.run("reset-password", address, False, app.state.settings)
        generated = done.rsplit("password: ", 1)[1]
        stale = await api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old_token}"})
        assert stale.status_code == 401
        refused = await api.post("/api/v1/auth/password-reset/confirm", json={"token": link, "password": "a brand new secret"})
        assert refused.status_code == 400 and refused.json()["detail"] == password_reset.INVALID
        assert (await api.post("/api/v1/auth/login", json={"email": address, "password": generated})).status_code == 200


@pytest.mark.unit
def test_production_needs_the_public_address_for_links() -> None:
    secret = "production-check-secret-0123456789abcdef"  # noqa: S105 - a test secret
    problems = APISettings(auth_jwt_secret=secret, smtp_host="mail.example.com", public_base_url="").production_problems()
    assert any(p.startswith("PUBLIC_BASE_URL must be set with SMTP_HOST") for p in problems), problems
    fine = APISettings(auth_jwt_secret=secret, smtp_host="mail.example.com", public_base_url="https://notes.example.com")
    assert not any("PUBLIC_BASE_URL" in p for p in fine.production_problems())
    assert fine.web_base_url == "https://notes.example.com"
