"""Usage statistics: minutes transcribed, sessions, and language-model tokens and cost."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class StageStats(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = Field(default=0.0, description="from LiteLLM's price list; 0 for models it has no price for")

    def plus(self, other: StageStats) -> StageStats:
        return StageStats(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=round(self.cost_usd + other.cost_usd, 6),
        )


class DayStats(BaseModel):
    date: date
    sessions: int = 0
    live_minutes: float = 0.0
    batch_minutes: float = 0.0
    tokens: int = 0
    cost_usd: float = 0.0
    by_stage: dict[str, StageStats] = Field(default_factory=dict)


class Stats(BaseModel):
    since: datetime = Field(description="the window's start (UTC midnight, `days` days ago counting today)")
    days: int
    sessions: int = Field(description="sessions created in the window")
    live_minutes: float = Field(description="minutes of live meetings (browser and device) created in the window")
    batch_minutes: float = Field(description="minutes of uploaded recordings created in the window")
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    by_stage: dict[str, StageStats] = Field(description="classification, extraction, summary, title, ask, brief")
    by_day: list[DayStats] = Field(description="days with sessions or model calls, oldest first")


class UserStats(BaseModel):
    user_id: str
    email: str | None
    sessions: int
    minutes: float
    tokens: int
    cost_usd: float


class AdminStats(BaseModel):
    totals: Stats
    users: list[UserStats] = Field(description="each user's totals, the heaviest users of tokens first (at most 100)")
