"""Password reset by e-mail for local accounts.

A request makes a random token, keeps only its SHA-256 in Redis (with the account and the time it
was issued) for PASSWORD_RESET_TTL_S, and e-mails a link to the web app's ``/reset-password``
page with the token in the URL's fragment (browsers send no fragment to servers, so it stays out
of access logs and Referer headers). Confirming takes the key out of Redis atomically (GETDEL), so
a link works once; a link issued before the password last changed (by another link, or by an
administrator) is refused too. Setting the password stamps ``users.password_changed_at``, and
``deps.current_user`` refuses tokens issued before it.

Whether an account exists never shows: every request is answered with the same sentence, and the
e-mail is sent after the answer."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import smtplib
import time
from datetime import UTC, datetime
from email.message import EmailMessage

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service import mail
from api_service.auth import hash_password
from api_service.db.models import User, now
from api_service.settings import APISettings

log = logging.getLogger(__name__)

PAGE = "/reset-password"
NO_EMAIL = (
    "Password reset by e-mail is not set up on this server. Ask its administrator to reset your password "
    "(they run: python -m api_service.admin reset-password YOUR-EMAIL)."
)
INVALID = (
    "This password-reset link cannot be used: it was already used, it expired, or a newer password was set. "
    "Ask for a new link from the sign-in page."
)
UNAVAILABLE = "Password reset is unavailable for a moment; try again in a minute."
CHANGED = "Your password was changed. Sign in with the new one."


class ResetRefused(Exception):
    """The token is unknown, used, expired or superseded; str() is the sentence for the person."""


class ResetUnavailable(Exception):
    """Redis, which holds the tokens, cannot be reached."""


def accepted(settings: APISettings) -> str:
    minutes = max(1, settings.password_reset_ttl_s // 60)
    return (
        "If an account uses this e-mail address, a link to choose a new password is on its way. "
        f"It works once, within {minutes} minutes."
    )


def _key(token: str) -> str:
    return "password-reset:" + hashlib.sha256(token.encode()).hexdigest()


def rate_subject(email: str) -> str:
    """The rate limit's key for requests about one address (a digest: no e-mail in Redis keys)."""
    return "email-" + hashlib.sha256(email.lower().encode()).hexdigest()[:32]


def _message(settings: APISettings, to: str, link: str, language: str) -> EmailMessage:
    minutes = max(1, settings.password_reset_ttl_s // 60)
    english = (
        "Someone (we hope you) asked to reset the password of your Intrascribe account.\n\n"
        f"Choose a new password here (the link works once, within {minutes} minutes):\n{link}\n\n"
        "If you did not ask, ignore this e-mail: your password stays as it is.\n"
    )
    chinese = (
        "有人（希望是您）请求重置您的 Intrascribe 账户密码。\n\n"
        f"请在此设置新密码（链接仅可使用一次，{minutes} 分钟内有效）：\n{link}\n\n"
        "如果不是您本人的请求，请忽略此邮件，您的密码不会改变。\n"
    )
    message = EmailMessage()
    message["To"] = to
    if language == "zh":
        message["Subject"] = "重置您的 Intrascribe 密码 / Reset your Intrascribe password"
        message.set_content(f"{chinese}\n---\n\n{english}")
    else:
        message["Subject"] = "Reset your Intrascribe password"
        message.set_content(english)
    return message


async def request_reset(settings: APISettings, redis: Redis, db: AsyncSession, email: str, language: str) -> EmailMessage | None:
    """The e-mail to send, or None when no account uses ``email`` (or Redis is away: then the
    person simply gets no e-mail, and the answer does not tell)."""
    user = (await db.execute(select(User).where(User.email == email.lower()))).scalar_one_or_none()
    if user is None or not user.email:
        return None
    token = secrets.token_urlsafe(32)
    record = json.dumps({"user_id": user.id, "issued_at": time.time()})
    try:
        await redis.set(_key(token), record, ex=settings.password_reset_ttl_s)
    except RedisError as exc:
        log.warning("password-reset link not made: Redis unavailable (%s)", exc)
        return None
    return _message(settings, user.email, f"{settings.web_base_url}{PAGE}#token={token}", language)


async def deliver(settings: APISettings, message: EmailMessage) -> None:
    """Sends after the answer went out; a failure is logged (without the link), not raised."""
    try:
        await mail.send(settings, message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("password-reset e-mail not sent: %s", exc)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite keeps no time zone


def issued_before_password_change(claims: dict[str, object], user: User | None) -> bool:
    """Whether a token predates the account's last password reset. JWT ``iat`` is in whole
    seconds, so a token issued in the same second as the reset still passes (the new sign-in
    right after a reset must)."""
    if user is None or user.password_changed_at is None:
        return False
    issued = claims.get("iat")
    changed = int(_aware(user.password_changed_at).timestamp())
    return not isinstance(issued, int | float) or issued < changed


async def confirm(redis: Redis, db: AsyncSession, token: str, password: str) -> None:
    try:
        raw = await redis.getdel(_key(token))
    except RedisError as exc:
        raise ResetUnavailable(UNAVAILABLE) from exc
    if raw is None:
        raise ResetRefused(INVALID)
    record = json.loads(raw)
    user = await db.get(User, record["user_id"])
    if user is None:
        raise ResetRefused(INVALID)
    if user.password_changed_at and _aware(user.password_changed_at).timestamp() > float(record["issued_at"]):
        raise ResetRefused(INVALID)
    user.password_hash = await hash_password(password)
    user.password_changed_at = now()
    await db.commit()
