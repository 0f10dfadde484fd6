"""Structured extraction and domain classification of a session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ExtractionRequest(BaseModel):
    # Left out: the session's template. Named: that template's schema (the session keeps its own).
    template_id: str | None = Field(default=None, max_length=36)


class ExtractionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    session_id: str
    version: int
    template_id: str | None
    model: str
    schema_: dict[str, Any] = Field(alias="schema", serialization_alias="schema", description="the schema it was made with")
    data: dict[str, Any] = Field(description="the fields, valid against the schema")
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    created_at: datetime


class ClassificationOut(BaseModel):
    label: str = Field(description='"domain/category" of a template the user may use, or "other"')
    domain: str
    category: str | None
    confidence: float = Field(ge=0, le=1)
    template_id: str | None = Field(description="the template for the label (in the session's language when there is one)")
    model: str | None
    answered: str | None = Field(default=None, description="the model's label when it was not in the set (then other)")
    applied: bool = Field(description="the template became the session's (not when the user had chosen one)")
    labels: list[str] = Field(description="the labels the model chose from (and other)")
