"""Summary templates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from api_service.extraction import SchemaProblem, check_schema
from shared.contracts.vocabulary import Vocabulary


def _usable(schema: dict[str, Any]) -> dict[str, Any]:
    if schema == {}:
        return schema  # no schema: the template extracts nothing
    try:
        return check_schema(schema)
    except SchemaProblem as exc:
        raise PydanticCustomError("extraction_schema", str(exc)) from None


def _label_part(value: str) -> str:
    """Domain and category are a classification label's two halves: lower case, words joined by
    hyphens or underscores (spaces become hyphens)."""
    cleaned = "-".join(value.strip().lower().split())
    if not cleaned or not all(ch.isalnum() or ch in "-_" for ch in cleaned):
        raise PydanticCustomError(
            "label", "Use letters, digits, hyphens or underscores for a domain or category, such as sales or support-call."
        )
    return cleaned


# A JSON Schema (draft 2020-12) of the fields to extract from a session's transcript.
ExtractionSchema = Annotated[
    dict[str, Any],
    Field(
        description="JSON Schema (draft 2020-12) of the fields to extract: an object with properties; no "
        "pattern/patternProperties, references only inside the schema, at most 100 fields, 6 levels and 20,000 characters",
    ),
    AfterValidator(_usable),
]
Label = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_label_part)]


class SectionIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    instruction: str = Field(default="", max_length=2000)
    format: Literal["paragraph", "bullets", "table"] = "paragraph"


class TemplateIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    # What the meeting is about (sales, healthcare, support, ...) and the kind of meeting (call,
    # appointment, interview, ...): "domain/category" is the label domain classification picks.
    domain: Label = "general"
    category: Label = "meeting"
    language: str = Field(default="en", max_length=16)
    sections: list[SectionIn] = Field(default_factory=list, max_length=30)
    template_content: str | None = Field(default=None, max_length=20000, description="the seed's free-text form")
    vocabulary: Vocabulary = Field(default_factory=list)
    extraction_schema: ExtractionSchema | None = None


class TemplatePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    domain: Label | None = None
    category: Label | None = None
    language: str | None = Field(default=None, max_length=16)
    sections: list[SectionIn] | None = Field(default=None, max_length=30)
    template_content: str | None = Field(default=None, max_length=20000)
    vocabulary: Vocabulary | None = None
    # Replaces the schema; {} removes it (null leaves it unchanged, as for every field here).
    extraction_schema: ExtractionSchema | None = None


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    description: str | None
    domain: str = "general"
    category: str
    language: str
    sections: list[dict[str, Any]]
    template_content: str | None
    vocabulary: list[str] = Field(default_factory=list)
    extraction_schema: dict[str, Any] | None = None
    is_system: bool
    created_at: datetime
    updated_at: datetime
