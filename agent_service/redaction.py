"""The session's redaction policy as the agent applies it: from the dispatch (so it holds before
the session is read, and when the API cannot be reached), then from the session, read again every
``REFRESH_S`` so a policy changed during the meeting reaches the captions within seconds. Unknown
(no dispatch policy, no answer from the API): every kind is hidden rather than none."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from shared.clients import InternalApiClient, ServiceUnavailable
from shared.contracts.redaction import RedactionPolicy
from shared.redaction import Redactor, redactor_for

log = logging.getLogger(__name__)

REFRESH_S = 10.0


class SessionRedaction:
    def __init__(self, dispatched: RedactionPolicy | None) -> None:
        self.redactor: Redactor = redactor_for(dispatched or RedactionPolicy(enabled=True))
        self._task: asyncio.Task[None] | None = None

    def __call__(self) -> Redactor:
        return self.redactor

    def update(self, policy: RedactionPolicy) -> None:
        if policy != self.redactor.policy:
            log.info("redaction %s (%s)", "on" if policy.active else "off", ", ".join(policy.kinds) or "terms only")
        self.redactor = redactor_for(policy)

    def follow(self, api: InternalApiClient, session_id: str, period_s: float = REFRESH_S) -> None:
        """Read the session's policy again every ``period_s`` until :meth:`aclose`."""
        self._task = asyncio.create_task(self._follow(api, session_id, period_s), name=f"redaction-{session_id}")

    async def _follow(self, api: InternalApiClient, session_id: str, period_s: float) -> None:
        while True:
            await asyncio.sleep(period_s)
            try:
                info = await api.session(session_id)
            except ServiceUnavailable:
                continue  # keep the last one
            if info is not None:
                self.update(info.redaction)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
