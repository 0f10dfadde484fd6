"""Sessions, their speakers, transcripts and recordings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from shared.contracts.redaction import RedactionPolicy, stored_policy
from shared.contracts.vocabulary import Vocabulary

# A template's id; an empty one is none (it used to reach the database and fail its foreign key).
TemplateRef = Annotated[str | None, Field(max_length=36), AfterValidator(lambda value: value or None)]


class SessionCreate(BaseModel):
    title: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=16)
    template_id: TemplateRef = None
    # Left out: the template's vocabulary, when the session names a template.
    vocabulary: Vocabulary | None = None
    # Left out: the owner's default (GET/PUT /api/v1/me/redaction).
    redaction: RedactionPolicy | None = None


class SessionUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    language: str | None = Field(default=None, max_length=16)
    template_id: TemplateRef = None
    status: Literal["created", "live", "processing", "completed", "failed"] | None = None
    # Replaces the list ([] clears it). Read when the agent joins a meeting and when a batch job runs.
    vocabulary: Vocabulary | None = None
    # Replaces the policy. When it hides anything, the segments already stored are redacted too
    # (every version: the original is not kept); the agent of a live meeting follows within ~10 s.
    redaction: RedactionPolicy | None = None


class SpeakerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    label: str
    display_name: str | None


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    title: str
    language: str | None
    status: str
    # Why a failed session failed, in a sentence.
    error: str | None = None
    source: str
    template_id: str | None
    vocabulary: list[str] = Field(default_factory=list)
    redaction: Annotated[RedactionPolicy, BeforeValidator(stored_policy)] = Field(default_factory=RedactionPolicy)
    duration_ms: int
    room_name: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


class SessionDetail(SessionOut):
    invite_code: str
    speakers: list[SpeakerOut]
    segment_count: int


class SessionPage(BaseModel):
    items: list[SessionOut]
    total: int
    limit: int
    offset: int


class SegmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    segment_id: str
    version: int
    speaker: str | None
    speaker_name: str | None = None
    start_ms: int
    end_ms: int
    text: str
    language: str | None
    words: list[dict[str, Any]]


class TranscriptOut(BaseModel):
    session_id: str
    version: int
    speakers: list[SpeakerOut]
    segments: list[SegmentOut]


class SpeakerRename(BaseModel):
    display_name: str = Field(min_length=1, max_length=200)


class SpeakerMerge(BaseModel):
    source: str = Field(min_length=1, max_length=128)
    target: str = Field(min_length=1, max_length=128)


class SegmentRef(BaseModel):
    segment_id: str = Field(min_length=1, max_length=96)
    version: int = Field(ge=1, le=2**31 - 1)  # a database integer


class SpeakerSplit(BaseModel):
    """Segments given (back) to ``label``, named ``display_name``: the undo of a merge."""

    label: str = Field(min_length=1, max_length=128)
    display_name: str | None = Field(default=None, max_length=200)
    segments: list[SegmentRef] = Field(min_length=1, max_length=20000)


class SpeakerMerged(BaseModel):
    moved_segments: int
    undo: SpeakerSplit = Field(description="POST it to …/speakers/split to undo the merge")


class RecordingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    track: str
    offset_ms: int
    duration_ms: int
    content_type: str
    bytes: int
