"""Outgoing e-mail over SMTP (the standard library's smtplib, run in a thread so the event loop
never waits on a mail server). Configured by SMTP_HOST and its neighbours in ``APISettings``."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from api_service.settings import APISettings


def configured(settings: APISettings) -> bool:
    return bool(settings.smtp_host)


def _send(settings: APISettings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)


async def send(settings: APISettings, message: EmailMessage) -> None:
    """Raises ``OSError`` or ``smtplib.SMTPException`` when the server cannot be reached or refuses."""
    if not message["From"]:
        message["From"] = settings.smtp_from
    await asyncio.to_thread(_send, settings, message)
