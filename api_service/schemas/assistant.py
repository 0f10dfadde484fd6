"""Questions about meetings, and the catch-up brief."""

from __future__ import annotations

import re
import unicodedata

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

MAX_QUESTION_CHARS = 2000
MAX_SESSION_IDS = 100
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")


def _question(value: str) -> str:
    if any(unicodedata.category(ch) == "Cs" for ch in value):
        raise PydanticCustomError("question", "The question is not valid Unicode text.")
    # Control characters are read as spaces (a NUL cannot reach a database or a prompt).
    value = " ".join("".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in value).split())
    if not value:
        raise PydanticCustomError("question", "The question is empty: write what you want to know about the meeting.")
    if len(value) > MAX_QUESTION_CHARS:
        raise PydanticCustomError(
            "question",
            "The question is too long: keep it under {limit} characters (it has {length}).",
            {"limit": MAX_QUESTION_CHARS, "length": len(value)},
        )
    return value


class AskRequest(BaseModel):
    question: str = Field(
        description="what you want to know about the meeting",
        json_schema_extra={"minLength": 1, "maxLength": MAX_QUESTION_CHARS},
    )

    @field_validator("question")
    @classmethod
    def readable(cls, value: str) -> str:
        return _question(value)


class AskAcrossRequest(AskRequest):
    session_ids: list[str] | None = Field(
        default=None,
        description="only these sessions (each must be yours: an id that is not answers 404); all of yours when left out",
        json_schema_extra={"minItems": 1, "maxItems": MAX_SESSION_IDS},
    )

    @field_validator("session_ids")
    @classmethod
    def some_ids(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise PydanticCustomError("session_ids", "session_ids is empty: leave it out to ask across all your meetings.")
        if len(value) > MAX_SESSION_IDS:
            raise PydanticCustomError("session_ids", "Too many sessions: name at most {limit}.", {"limit": MAX_SESSION_IDS})
        if bad := next((v for v in value if not SESSION_ID.fullmatch(v)), None):
            raise PydanticCustomError("session_ids", "{id!r} is not a session id.", {"id": bad[:40]})
        return list(dict.fromkeys(value))


class Citation(BaseModel):
    """A transcript segment an answer rests on; ``[ref]`` in the answer points at it."""

    ref: int = Field(description="the number the answer cites it by: [ref]")
    session_id: str
    session_title: str
    segment_id: str
    start_ms: int
    end_ms: int
    speaker: str | None = Field(description="the speaker's name as the transcript shows it")
    text: str


class AskAnswer(BaseModel):
    answer: str
    citations: list[Citation]
    model: str | None = Field(description="the model that answered; null when the answer is passages of the transcript")
    note: str | None = Field(default=None, description="why the answer is passages, when it is")


class BriefItem(BaseModel):
    text: str
    refs: list[int] = Field(default_factory=list, description="the citations it rests on ([ref])")


class Brief(BaseModel):
    """What someone joining late needs: what was discussed, decided and left open."""

    session_id: str
    since_ms: int
    discussed: list[BriefItem]
    decisions: list[BriefItem]
    open_questions: list[BriefItem]
    citations: list[Citation]
    model: str | None = Field(description="the model that wrote it; null when the sentences are taken from the transcript")
    transcript_version: str = Field(description="the transcript it was made from; it is cached until this changes")
    cached: bool = False
    note: str | None = None
