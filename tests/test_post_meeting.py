"""Post-meeting processing: when a live session with a room-microphone recording completes, the
worker diarizes the whole recording and corrects the live speaker labels of that track."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pytest

from api_service.jobs.assign import relabel
from devstack.pytest_plugin import Servers
from shared.contracts.diarization import Turn
from shared.service_auth import service_header
from tests.speech import LINES, VOICES, silence, synth, wav_bytes

pytestmark = [pytest.mark.unit]

TRACK = "device-mic1"


def test_relabel_keeps_agreeing_live_labels_and_numbers_new_speakers() -> None:
    segments = [("a", 0, 4000, f"{TRACK}:S1"), ("b", 5000, 9000, f"{TRACK}:S1"), ("c", 10_000, 14_000, f"{TRACK}:S2")]
    turns = [Turn(0, 4500, "SPEAKER_00"), Turn(4800, 9500, "SPEAKER_01"), Turn(9800, 14_200, "SPEAKER_02")]
    # SPEAKER_00 and SPEAKER_01 both met S1 for 4 s: the first keeps it; SPEAKER_02 keeps S2;
    # SPEAKER_01 becomes a new speaker, numbered after the labels in use.
    assert relabel(segments, turns, TRACK) == {"a": f"{TRACK}:S1", "b": f"{TRACK}:S3", "c": f"{TRACK}:S2"}
    assert relabel(segments, [], TRACK) == {}
    # A live label on a segment no turn covers is still in use: a new voice gets the next number.
    unmatched = [*segments, ("d", 20_000, 21_000, f"{TRACK}:S3")]
    assert relabel(unmatched, turns, TRACK)["b"] == f"{TRACK}:S4"


@pytest.mark.e2e
@pytest.mark.parametrize("recording_first", [True, False], ids=["recording-then-end", "end-then-recording"])
def test_room_microphone_labels_are_corrected_after_the_meeting(stack: Servers, recording_first: bool) -> None:
    assert stack.secrets is not None
    agent = service_header("agent", stack.secrets.service_keys)
    owner = {"Authorization": f"Bearer {stack.user_token('post-owner')}"}
    api = stack.url("api")
    session_id = httpx.post(f"{api}/api/v1/sessions/", json={"title": "Room mic"}, headers=owner, timeout=15).json()["id"]

    # Two voices in turn on one microphone; live attribution got them all as one speaker.
    pieces, segments, t = [silence(0.5)], [], 0.5
    for n, who in enumerate([0, 1, 0, 1]):
        voice, pitch, speed = VOICES[who]
        speech = synth(LINES[n], voice, speed, pitch)
        offset_ms = 30_000  # the device joined 30 s into the session
        start, end = int(t * 1000) + offset_ms, int((t + speech.size / 16000) * 1000) + offset_ms
        segments.append({"segment_id": f"live-{n}", "speaker": f"{TRACK}:S1", "start_ms": start, "end_ms": end, "text": LINES[n]})
        pieces += [speech, silence(1.0)]
        t += speech.size / 16000 + 1.0
    recording = np.concatenate(pieces)

    stored = httpx.post(
        f"{api}/internal/v1/sessions/{session_id}/segments", json={"segments": segments}, headers=agent, timeout=15
    )
    assert stored.status_code == 200, stored.text

    def upload() -> None:
        uploaded = httpx.post(
            f"{api}/internal/v1/sessions/{session_id}/recordings",
            params={"track": TRACK, "offset_ms": 30_000},
            content=wav_bytes(recording),
            headers={**agent, "Content-Type": "audio/wav"},
            timeout=60,
        )
        assert uploaded.status_code == 201, uploaded.text

    def finish() -> None:
        done = httpx.post(
            f"{api}/internal/v1/sessions/{session_id}/status", json={"status": "completed"}, headers=agent, timeout=15
        )
        assert done.status_code == 200

    # The agent uploads before it ends the session; a slow upload may come after.
    for step in (upload, finish) if recording_first else (finish, upload):
        step()

    deadline, labels = time.monotonic() + 120, []
    while time.monotonic() < deadline:
        transcript = httpx.get(f"{api}/api/v1/sessions/{session_id}/transcript", headers=owner, timeout=15).json()
        labels = [s["speaker"] for s in transcript["segments"]]
        if len(set(labels)) > 1:
            break
        time.sleep(1.0)
    assert labels[0] == labels[2] != labels[1] == labels[3], labels
    assert f"{TRACK}:S1" in labels and all(label.startswith(f"{TRACK}:S") for label in labels)
    detail = httpx.get(f"{api}/api/v1/sessions/{session_id}", headers=owner, timeout=15).json()
    speakers = {s["label"] for s in detail["speakers"]}
    assert set(labels) <= speakers
