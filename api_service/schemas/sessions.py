"""Sessions, their speakers, transcripts and recordings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

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
    # Lets the people who joined the meeting through its invite (and were not removed) read its
    # transcript and summary (GET /api/v1/shared/{id}); turned off, they lose it at once.
    share_with_participants: bool | None = None


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
    # "user" (named when the session was made, or set with PATCH) or "classifier" (domain
    # classification chose it for a session that had none); null without a template.
    template_chosen_by: Literal["user", "classifier"] | None = None
    # The last domain classification: {label, domain, category, confidence, template_id, model}.
    classification: dict[str, Any] | None = None
    vocabulary: list[str] = Field(default_factory=list)
    redaction: Annotated[RedactionPolicy, BeforeValidator(stored_policy)] = Field(default_factory=RedactionPolicy)
    share_with_participants: bool = False
    duration_ms: int
    room_name: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    ended_at: datetime | None

    @model_validator(mode="after")
    def chosen_by(self) -> SessionOut:
        if self.template_id and not self.template_chosen_by:
            self.template_chosen_by = "user"  # sessions made with a template name none
        elif not self.template_id:
            self.template_chosen_by = None
        return self


class ParticipantOut(BaseModel):
    """Someone who joined the meeting through its invite (the owner is not listed)."""

    model_config = ConfigDict(from_attributes=True)
    identity: str = Field(description="their identity in the meeting's room")
    display_name: str
    joined_at: datetime
    removed: bool = Field(description="the owner removed them: they cannot read the session even when it is shared")


class SessionDetail(SessionOut):
    invite_code: str
    speakers: list[SpeakerOut]
    # Who joined through the invite: with share_with_participants, those not removed may read it.
    participants: list[ParticipantOut] = Field(default_factory=list)
    segment_count: int
    # Post-meeting processing (the recordings transcribed again, room microphones re-diarized) is
    # queued or running: the transcript will change.
    improving: bool = False


class SharedSummary(BaseModel):
    """The latest summary, as a participant reads it."""

    markdown: str
    html: str
    created_at: datetime | None


class SharedSession(BaseModel):
    """A session as the people it is shared with read it: what it is, when, who spoke, and its
    latest summary; nothing that lets them change it or join again (no invite code, vocabulary,
    redaction terms or template)."""

    id: str
    title: str
    status: str
    language: str | None
    started_at: datetime | None
    ended_at: datetime | None
    duration_ms: int
    speakers: list[SpeakerOut]
    segment_count: int
    # Post-meeting processing is still improving the transcript: it will change.
    improving: bool = False
    summary: SharedSummary | None = None


class SearchMatch(BaseModel):
    """A transcript line that matches a search, to show under its session and jump to."""

    segment_id: str
    start_ms: int
    speaker: str | None = Field(description="the speaker's name as the transcript shows it")
    text: str


class SessionListItem(SessionOut):
    matches: list[SearchMatch] = Field(
        default_factory=list, description="with a search: its best-matching lines (a few), in the order they were said"
    )


class SessionPage(BaseModel):
    items: list[SessionListItem]
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
