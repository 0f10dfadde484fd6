"""A session's status: which may follow which, and the times and reason that go with a change.
Every writer of ``MeetingSession.status`` (the user's PATCH, the agent's status calls, the sweep,
the batch and post-meeting jobs, the job queue) changes it here."""

from __future__ import annotations

from datetime import UTC, datetime

from api_service.db.models import MeetingSession
from shared.contracts.internal import SessionStatus

# Anything unfinished may fail; a finished session may be processed again.
TRANSITIONS = {
    SessionStatus.created: {SessionStatus.live, SessionStatus.processing, SessionStatus.failed},
    SessionStatus.live: {SessionStatus.processing, SessionStatus.completed, SessionStatus.failed},
    SessionStatus.processing: {SessionStatus.completed, SessionStatus.failed},
    SessionStatus.completed: {SessionStatus.processing},
    SessionStatus.failed: {SessionStatus.processing},
}


class InvalidTransition(ValueError):
    """The API answers it with 409."""

    def __init__(self, current: SessionStatus, new: SessionStatus) -> None:
        super().__init__(f"a {current} session cannot become {new}")


def change_status(row: MeetingSession, new: SessionStatus, *, error: str | None = None) -> None:
    """``row`` becomes ``new`` (a no-op when it already is); raises InvalidTransition when
    ``new`` may not follow its status. Starting stamps ``started_at``, finishing ``ended_at``."""
    current = SessionStatus(row.status)
    if new != current:
        if new not in TRANSITIONS[current]:
            raise InvalidTransition(current, new)
        row.status = new
        if new is SessionStatus.live and row.started_at is None:
            row.started_at = datetime.now(UTC)
        if new in (SessionStatus.completed, SessionStatus.failed):
            row.ended_at = datetime.now(UTC)
    if error is not None:
        row.error = error


def fail(row: MeetingSession, reason: str) -> bool:
    """The session failed for ``reason``; False (and unchanged) when it had completed already."""
    try:
        change_status(row, SessionStatus.failed, error=reason)
    except InvalidTransition:
        return False
    return True
