"""Joining a meeting: the connection request and invite codes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api_service.schemas.sessions import TemplateRef
from shared.contracts.redaction import RedactionPolicy
from shared.contracts.vocabulary import Vocabulary


class ConnectionRequest(BaseModel):
    title: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=16)
    template_id: TemplateRef = None
    # For a new session (left out: the template's); an existing session keeps its own.
    vocabulary: Vocabulary | None = None
    # For a new session (left out: the user's default); an existing session keeps its own.
    redaction: RedactionPolicy | None = None
    # Join an existing session: your own, or another user's with its invite code.
    session_id: str | None = Field(default=None, max_length=36)
    invite_code: str | None = Field(default=None, max_length=64)
    participant_name: str | None = Field(default=None, max_length=100)


class InviteCode(BaseModel):
    invite_code: str
