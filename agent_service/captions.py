"""Live captions into the room: a stream's partials and finals (livekit-agents SpeechEvents) go
out on LiveKit's ``lk.transcription`` text streams, as LiveKit's own agents send them, so any
LiveKit front end shows them; ``intrascribe.*`` attributes add the times (ms on the session
clock), the language and who spoke."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from livekit import rtc
from livekit.agents import stt
from livekit.agents.types import (
    ATTRIBUTE_TRANSCRIPTION_FINAL,
    ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID,
    ATTRIBUTE_TRANSCRIPTION_TRACK_ID,
    TOPIC_TRANSCRIPTION,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Speaker:
    identity: str
    name: str


def to_ms(seconds: float) -> int:
    """A SpeechData time (seconds on the session clock) as the milliseconds it came from."""
    return round(seconds * 1000)


class CaptionPublisher:
    """Publishes one track's transcripts, sent on behalf of ``sender_identity`` (the participant
    whose track it is). A partial and its final share a segment id (the event's ``request_id``)."""

    def __init__(self, room: rtc.Room, track_sid: str, sender_identity: str) -> None:
        self._room = room
        self._track_sid = track_sid
        self._sender = sender_identity

    async def publish(self, event: stt.SpeechEvent, speaker: Speaker, text: str) -> None:
        """An INTERIM_TRANSCRIPT or FINAL_TRANSCRIPT event, shown as ``text`` (the event's, as the
        session's redaction policy lets it be shown); a caption that cannot be sent is logged and
        skipped (captions are live, not stored: the final is stored elsewhere)."""
        data = event.alternatives[0]
        attributes = {
            ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID: event.request_id,
            ATTRIBUTE_TRANSCRIPTION_TRACK_ID: self._track_sid,
            ATTRIBUTE_TRANSCRIPTION_FINAL: "true" if event.type == stt.SpeechEventType.FINAL_TRANSCRIPT else "false",
            "intrascribe.start_ms": str(to_ms(data.start_time)),
            "intrascribe.end_ms": str(to_ms(data.end_time)),
            "intrascribe.language": str(data.language or ""),
            "intrascribe.speaker": speaker.identity,
            "intrascribe.speaker_name": speaker.name,
        }
        try:
            writer = await self._room.local_participant.stream_text(
                topic=TOPIC_TRANSCRIPTION, sender_identity=self._sender, attributes=attributes
            )
            await writer.write(text)
            await writer.aclose()
        except Exception as exc:
            log.warning("could not publish a caption: %s", exc)
