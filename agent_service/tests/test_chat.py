"""Which chat messages are questions to the agent: those that start with its handle."""

from __future__ import annotations

import pytest

from agent_service.chat import addressed

pytestmark = [pytest.mark.unit]


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("@notes what did we decide?", "what did we decide?"),
        ("  @Notes: when is the review?", "when is the review?"),
        ("@NOTES, who owns the budget?\nAnd when?", "who owns the budget?\nAnd when?"),
        ("@notes", ""),
        ("hello @notes what did we decide?", None),
        ("@notesy what?", None),
        ("notes: what?", None),
    ],
)
def test_only_messages_that_start_with_the_handle_are_questions(text: str, question: str | None) -> None:
    assert addressed(text, "notes") == question
