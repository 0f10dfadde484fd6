"""Token usage and cost of language-model calls, per stage, and the statistics built on it.

Every call a stage makes (collected by ``llm.metering``) is one ``llm_usage`` row: the user, the
session when there is one, the stage, the model, the tokens the provider reported and the cost
LiteLLM's price list gives (0 for a model it has no price for, such as a local server). Calls are
recorded whether the stage succeeded or not: a provider bills an answer that failed validation.

``stats`` adds up a user's (or, for admins, everyone's) minutes transcribed, sessions, tokens and
cost over a window of days, by stage and by day."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import LlmUsage, MeetingSession, User
from api_service.llm import Completion, metering
from api_service.schemas.stats import DayStats, StageStats, Stats, UserStats

log = logging.getLogger(__name__)

Stage = Literal["classification", "extraction", "summary", "title", "ask", "brief"]
STAGES: tuple[Stage, ...] = ("classification", "extraction", "summary", "title", "ask", "brief")
BATCH_SOURCES = ("upload",)  # every other source (live, device) is a live meeting


def rows(user_id: str, session_id: str | None, stage: Stage, calls: Sequence[Completion]) -> list[LlmUsage]:
    return [
        LlmUsage(
            user_id=user_id,
            session_id=session_id,
            stage=stage,
            model=c.model[:200],
            prompt_tokens=c.prompt_tokens,
            completion_tokens=c.completion_tokens,
            cost_usd=c.cost_usd,
        )
        for c in calls
    ]


@contextlib.asynccontextmanager
async def metered(db: AsyncSession, user_id: str, session_id: str | None, stage: Stage) -> AsyncIterator[list[Completion]]:
    """Record the calls made in the block, after it, in ``db``: committed with the caller's work
    when the block succeeds (the caller commits), committed on their own when it raised (what the
    block left pending is rolled back first). The database is not touched while a model writes."""
    with metering() as calls:
        try:
            yield calls
        except BaseException:
            if calls:
                try:
                    await db.rollback()
                    db.add_all(rows(user_id, session_id, stage, calls))
                    await db.commit()
                except Exception as exc:  # the stage's own error is the one to report
                    log.warning("usage of a failed %s not recorded: %s", stage, exc)
            raise
        db.add_all(rows(user_id, session_id, stage, calls))


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


async def stats(db: AsyncSession, user_id: str | None, days: int, now: datetime | None = None) -> Stats:
    """The user's figures (everyone's when ``user_id`` is None) for the last ``days`` days (UTC,
    today included): sessions created, minutes transcribed live and in batch, tokens and cost."""
    now = now or datetime.now(UTC)
    since = datetime.combine(now.date() - timedelta(days=days - 1), datetime.min.time(), UTC)

    def scoped_sessions(statement: Select[Any]) -> Select[Any]:
        statement = statement.where(MeetingSession.created_at >= since)
        return statement if user_id is None else statement.where(MeetingSession.user_id == user_id)

    def scoped_usage(statement: Select[Any]) -> Select[Any]:
        statement = statement.where(LlmUsage.created_at >= since)
        return statement if user_id is None else statement.where(LlmUsage.user_id == user_id)

    by_day: dict[date, DayStats] = {}

    def day(key: Any) -> DayStats:
        d = _day(key)
        return by_day.setdefault(d, DayStats(date=d))

    session_day = func.date(MeetingSession.created_at)
    is_batch = MeetingSession.source.in_(BATCH_SOURCES)
    for d, batch, count, duration in (
        await db.execute(
            scoped_sessions(
                select(session_day, is_batch, func.count(), func.coalesce(func.sum(MeetingSession.duration_ms), 0))
            ).group_by(session_day, is_batch)
        )
    ).all():
        entry, duration = day(d), int(duration or 0)  # PostgreSQL sums BIGINT as NUMERIC (Decimal)
        entry.sessions += int(count)
        if batch:
            entry.batch_minutes = round(entry.batch_minutes + duration / 60000, 2)
        else:
            entry.live_minutes = round(entry.live_minutes + duration / 60000, 2)

    usage_day = func.date(LlmUsage.created_at)
    stages: dict[str, StageStats] = {}
    for d, stage, calls, prompt, completion, cost in (
        await db.execute(
            scoped_usage(
                select(
                    usage_day,
                    LlmUsage.stage,
                    func.count(),
                    func.sum(LlmUsage.prompt_tokens),
                    func.sum(LlmUsage.completion_tokens),
                    func.sum(LlmUsage.cost_usd),
                )
            ).group_by(usage_day, LlmUsage.stage)
        )
    ).all():
        figures = StageStats(
            calls=int(calls), prompt_tokens=int(prompt or 0), completion_tokens=int(completion or 0), cost_usd=float(cost or 0)
        )
        day(d).by_stage[stage] = figures
        total = stages.setdefault(stage, StageStats())
        stages[stage] = total.plus(figures)

    days_list = sorted(by_day.values(), key=lambda e: e.date)
    for entry in days_list:
        entry.tokens = sum(s.prompt_tokens + s.completion_tokens for s in entry.by_stage.values())
        entry.cost_usd = round(sum(s.cost_usd for s in entry.by_stage.values()), 6)
    return Stats(
        since=since,
        days=days,
        sessions=sum(e.sessions for e in days_list),
        live_minutes=round(sum(e.live_minutes for e in days_list), 2),
        batch_minutes=round(sum(e.batch_minutes for e in days_list), 2),
        prompt_tokens=sum(s.prompt_tokens for s in stages.values()),
        completion_tokens=sum(s.completion_tokens for s in stages.values()),
        cost_usd=round(sum(s.cost_usd for s in stages.values()), 6),
        by_stage=stages,
        by_day=days_list,
    )


async def stats_by_user(db: AsyncSession, days: int, limit: int = 100, now: datetime | None = None) -> list[UserStats]:
    """Each user's totals over the window, the heaviest users of tokens first (admins)."""
    now = now or datetime.now(UTC)
    since = datetime.combine(now.date() - timedelta(days=days - 1), datetime.min.time(), UTC)
    sessions = {
        uid: (int(count), int(duration or 0))
        for uid, count, duration in (
            await db.execute(
                select(MeetingSession.user_id, func.count(), func.coalesce(func.sum(MeetingSession.duration_ms), 0))
                .where(MeetingSession.created_at >= since)
                .group_by(MeetingSession.user_id)
            )
        ).all()
    }
    tokens = {
        uid: (int(total or 0), float(cost or 0))
        for uid, total, cost in (
            await db.execute(
                select(
                    LlmUsage.user_id,
                    func.sum(LlmUsage.prompt_tokens + LlmUsage.completion_tokens),
                    func.sum(LlmUsage.cost_usd),
                )
                .where(LlmUsage.created_at >= since)
                .group_by(LlmUsage.user_id)
            )
        ).all()
    }
    ids = set(sessions) | set(tokens)
    emails = dict((await db.execute(select(User.id, User.email).where(User.id.in_(ids)))).all()) if ids else {}
    out = [
        UserStats(
            user_id=uid,
            email=emails.get(uid),
            sessions=sessions.get(uid, (0, 0))[0],
            minutes=round(sessions.get(uid, (0, 0))[1] / 60000, 2),
            tokens=tokens.get(uid, (0, 0.0))[0],
            cost_usd=round(tokens.get(uid, (0, 0.0))[1], 6),
        )
        for uid in ids
    ]
    return sorted(out, key=lambda u: (-u.tokens, -u.sessions, u.user_id))[:limit]
