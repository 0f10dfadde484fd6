"""The API's ``/internal/v1`` routes, as the agent calls them: what a session is, its final
segments, its status, its recordings, and questions asked in its chat."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from shared.clients.base import ServiceClient, ServiceRefused
from shared.contracts.internal import (
    ChatAnswer,
    ChatQuestion,
    RecordingStored,
    SegmentBatch,
    SegmentIn,
    SegmentsStored,
    SessionInfo,
    StatusChange,
    StatusOut,
)

PREFIX = "/internal/v1/sessions"


class InternalApiClient:
    """``timeout``/``retries`` apply to the JSON calls; a recording upload is streamed from disk
    for up to ``upload_timeout`` and not retried here (its caller sends it again)."""

    def __init__(
        self,
        base_url: str,
        *,
        caller: str,
        service_keys: dict[str, str] | None = None,
        upload_timeout: float = 600,
        **options: Any,
    ) -> None:
        self.http = ServiceClient(base_url, caller=caller, service_keys=service_keys, **options)
        self.uploads = ServiceClient(base_url, caller=caller, service_keys=service_keys, retries=0, timeout=upload_timeout)

    async def session(self, session_id: str) -> SessionInfo | None:
        """None when the API does not know the session."""
        try:
            return await self.http.call(SessionInfo, "GET", f"{PREFIX}/{session_id}")
        except ServiceRefused as exc:
            if exc.status_code == 404:
                return None
            raise

    async def add_segments(self, session_id: str, segments: list[SegmentIn]) -> SegmentsStored:
        body = SegmentBatch(segments=segments).model_dump(mode="json")
        return await self.http.call(SegmentsStored, "POST", f"{PREFIX}/{session_id}/segments", json=body)

    async def set_status(self, session_id: str, change: StatusChange) -> StatusOut:
        body = change.model_dump(mode="json", exclude_none=True)
        return await self.http.call(StatusOut, "POST", f"{PREFIX}/{session_id}/status", json=body)

    async def ask(self, session_id: str, question: str) -> ChatAnswer:
        """An answer from the session's transcript so far, for its chat."""
        body = ChatQuestion(question=question).model_dump(mode="json")
        return await self.http.call(ChatAnswer, "POST", f"{PREFIX}/{session_id}/ask", json=body)

    async def add_recording(
        self, session_id: str, track: str, offset_ms: int, wav: Callable[[], AsyncIterator[bytes]]
    ) -> RecordingStored:
        """A participant's whole recording as a WAV stream (``wav`` makes it)."""
        return await self.uploads.call(
            RecordingStored,
            "POST",
            f"{PREFIX}/{session_id}/recordings",
            params={"track": track, "offset_ms": offset_ms},
            content=wav,
            headers={"Content-Type": "audio/wav"},
        )

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.uploads.aclose()
