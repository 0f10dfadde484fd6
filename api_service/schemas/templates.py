"""Summary templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.vocabulary import Vocabulary


class SectionIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    instruction: str = Field(default="", max_length=2000)
    format: Literal["paragraph", "bullets", "table"] = "paragraph"


class TemplateIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    category: str = Field(default="meeting", max_length=64)
    language: str = Field(default="en", max_length=16)
    sections: list[SectionIn] = Field(default_factory=list, max_length=30)
    template_content: str | None = Field(default=None, max_length=20000, description="the seed's free-text form")
    vocabulary: Vocabulary = Field(default_factory=list)


class TemplatePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    category: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=16)
    sections: list[SectionIn] | None = Field(default=None, max_length=30)
    template_content: str | None = Field(default=None, max_length=20000)
    vocabulary: Vocabulary | None = None


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    description: str | None
    category: str
    language: str
    sections: list[dict[str, Any]]
    template_content: str | None
    vocabulary: list[str] = Field(default_factory=list)
    is_system: bool
    created_at: datetime
    updated_at: datetime
