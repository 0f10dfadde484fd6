"""Speaker names in a stored transcript (on SQLite, in process): people are shown by the name they
joined with, never by their identity, and a name the user gives afterwards is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from api_service import transcripts
from api_service.db.engine import make_engine, migrate, sessionmaker
from api_service.db.models import MeetingSession, User
from shared.contracts.internal import SegmentIn

pytestmark = [pytest.mark.unit]


async def test_speakers_are_named_as_they_joined_and_a_rename_wins(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/api.db"
    await migrate(url)
    engine = make_engine(url)
    identity = "user-3f1c9a2e-0000-4000-8000-000000000000"

    def said(segment_id: str, name: str | None) -> SegmentIn:
        return SegmentIn(segment_id=segment_id, speaker=identity, speaker_name=name, start_ms=0, end_ms=900, text="hello")

    try:
        async with sessionmaker(engine)() as db:
            db.add(User(id="u1", email="ann@example.com"))
            await db.flush()
            db.add(MeetingSession(id="s1", user_id="u1"))
            await db.flush()
            await transcripts.add_segments(db, "s1", [said("seg-1", None)])  # an agent from before names were sent
            await transcripts.add_segments(db, "s1", [said("seg-2", "Ann Lee"), said("seg-3", None)])
            _version, segments = await transcripts.read_segments(db, "s1")
            assert {s["speaker_name"] for s in segments} == {"Ann Lee"}
            assert await transcripts.rename_speaker(db, "s1", identity, "Ann")
            await transcripts.add_segments(db, "s1", [said("seg-4", "Ann Lee")])  # the meeting goes on
            _version, segments = await transcripts.read_segments(db, "s1")
            assert [s["speaker_name"] for s in segments] == ["Ann"] * 4
    finally:
        await engine.dispose()
