"""A real SMTP server on loopback (aiosmtpd) that keeps every message it is given, for the
password-reset tests: ``with MailServer() as mail: … mail.port … await mail.wait_for(address, 1)``."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from devstack.procs import free_port

RESET_LINK = re.compile(r"https?://[^\s/]+/reset-password#token=([\w-]+)")


class MailServer:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        content = envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, address: str, count: int, timeout_s: float = 15) -> list[EmailMessage]:
        """The messages to ``address`` once there are ``count`` (the API sends after it answers)."""
        for _ in range(int(timeout_s / 0.05)):  # the handler runs on the controller's own thread and loop
            if len(self.to(address)) >= count:
                break
            await asyncio.sleep(0.05)
        return self.to(address)

    def __enter__(self) -> MailServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
