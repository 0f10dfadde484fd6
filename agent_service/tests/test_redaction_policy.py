"""The agent's view of a session's redaction policy: the dispatch's until the session is read,
every kind hidden when neither is known, and a policy changed during the meeting followed within
a refresh period (the last one kept while the API cannot be reached)."""

from __future__ import annotations

from typing import cast

import pytest
from livekit.plugins.intrascribe.testing import until

from agent_service.redaction import SessionRedaction
from shared.clients import InternalApiClient, ServiceUnavailable
from shared.contracts.internal import SessionInfo, SessionStatus
from shared.contracts.redaction import RedactionKind, RedactionPolicy

pytestmark = [pytest.mark.unit]


class Api:
    """Answers ``session()`` from a list: a policy, or an outage."""

    def __init__(self, answers: list[RedactionPolicy | None]) -> None:
        self.answers = answers
        self.calls = 0

    async def session(self, session_id: str) -> SessionInfo:
        self.calls += 1
        answer = self.answers[min(self.calls, len(self.answers)) - 1]
        if answer is None:
            raise ServiceUnavailable("the API is down")
        return SessionInfo(
            id=session_id, user_id="u", language="en", status=SessionStatus.live, title="t", template_id=None, redaction=answer
        )


async def test_the_policy_is_the_dispatchs_then_the_sessions_and_follows_changes() -> None:
    said = "call me at 555-123-4567 or mail jo@example.com"
    assert SessionRedaction(None)().redact(said) == "call me at [phone] or mail [email]"  # unknown: everything
    off = SessionRedaction(RedactionPolicy(enabled=False))
    assert off().redact(said) == said

    phones = RedactionPolicy(enabled=True, kinds=[RedactionKind.phone])
    api = Api([phones, None, RedactionPolicy(enabled=False)])
    off.follow(cast(InternalApiClient, api), "s1", period_s=0.01)
    try:
        await until(lambda: api.calls >= 1 and off().policy == phones)
        assert off().redact(said) == "call me at [phone] or mail jo@example.com"
        # Through an outage (the last policy kept), to the policy turned off again.
        await until(lambda: api.calls >= 3 and not off().policy.enabled)
        assert off().redact(said) == said
    finally:
        await off.aclose()
