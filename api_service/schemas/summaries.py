"""Summaries and titles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from api_service import exports, summaries


class SummarizeText(BaseModel):
    transcription_text: str = Field(min_length=1, max_length=500_000)
    template_id: str | None = Field(default=None, max_length=36)
    language: str | None = Field(default=None, max_length=16)


class TitleRequest(BaseModel):
    transcription_text: str | None = Field(default=None, max_length=500_000)
    summary_text: str | None = Field(default=None, max_length=100_000)
    session_id: str | None = Field(default=None, max_length=36)


class SessionSummaryRequest(BaseModel):
    template_id: str | None = Field(default=None, max_length=36)


class SummaryEdit(BaseModel):
    markdown: str = Field(min_length=1, max_length=summaries.MAX_EDIT_CHARS)

    @field_validator("markdown")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the summary must not be empty")
        return value


class SummaryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str | None = None
    session_id: str | None = None
    version: int | None = None
    template_id: str | None
    model: str
    content: dict[str, Any]
    markdown: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    created_at: datetime | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def html(self) -> str:
        """The Markdown rendered for a page (raw HTML in it escaped)."""
        return exports.markdown_html(self.markdown)
