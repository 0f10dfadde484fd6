"""Post-meeting processing: when a live session completes, the worker transcribes each
participant's recording again and replaces the live text with it (a new version), and diarizes
a room microphone's whole recording to correct the live speaker labels of that track."""

from __future__ import annotations

import time

import httpx
import jiwer
import numpy as np
import pytest

from api_service.jobs.assign import Redone, next_version, relabel
from devstack.pytest_plugin import Servers
from shared.contracts.diarization import Turn
from shared.service_auth import service_header
from tests.speech import LINES, VOICES, normalize, silence, synth, wav_bytes

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


def live(segment_id: str, speaker: str, start_ms: int, end_ms: int, text: str) -> dict[str, object]:
    return {
        "segment_id": segment_id,
        "speaker": speaker,
        "speaker_name": "Carol",
        "start_ms": start_ms,
        "end_ms": end_ms,
        "text": text,
    }


def test_the_next_version_replaces_a_tracks_live_text_and_keeps_ids_where_lines_align() -> None:
    segments = [
        live("c-1", "user-carol", 1000, 2000, "ask not"),
        live("c-2", "user-carol", 2100, 4000, "what your country"),
        live("d-1", "user-dan", 1500, 3000, "hello there"),
        live("c-3", "user-carol", 90_000, 91_000, "after the recording"),  # outside the recording
    ]
    fresh = [
        {
            "speaker": "user-carol",
            "start_ms": 1000,
            "end_ms": 4000,
            "text": "Ask not what your country can do for you.",
            "words": [],
        },
        {"speaker": "user-carol", "start_ms": 5000, "end_ms": 6000, "text": "Thank you.", "words": []},
    ]
    rows, replaced = next_version(segments, [Redone("user-carol", 0, 60_000, fresh)])
    assert replaced == 1
    assert [(r.segment_id, r.speaker, r.text) for r in rows] == [
        ("c-2", "user-carol", "Ask not what your country can do for you."),  # overlaps c-2 most (1.9 s)
        ("d-1", "user-dan", "hello there"),
        ("post-00-00001", "user-carol", "Thank you."),
        ("c-3", "user-carol", "after the recording"),
    ]
    assert all(r.speaker_name == "Carol" for r in rows if r.speaker == "user-carol")


def test_a_re_transcription_that_lost_words_keeps_the_live_text() -> None:
    segments = [live("c-1", "user-carol", 1000, 4000, "one two three four five six seven eight")]
    short = [{"speaker": "user-carol", "start_ms": 1000, "end_ms": 2000, "text": "one two", "words": []}]
    for redone in ([Redone("user-carol", 0, 10_000, short)], [Redone("user-carol", 0, 10_000, [])]):
        rows, replaced = next_version(segments, redone)
        assert replaced == 0 and [r.text for r in rows] == ["one two three four five six seven eight"]


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


@pytest.mark.e2e
def test_a_participants_live_text_is_replaced_by_the_whole_recordings_transcript(stack: Servers) -> None:
    assert stack.secrets is not None
    agent = service_header("agent", stack.secrets.service_keys)
    owner = {"Authorization": f"Bearer {stack.user_token('retranscribe-owner')}"}
    api = stack.url("api")
    session_id = httpx.post(f"{api}/api/v1/sessions/", json={"title": "Redo"}, headers=owner, timeout=15).json()["id"]

    # Carol joined 5 s in and said two sentences; live, the first came out as two misheard fragments.
    voice, pitch, speed = VOICES[1]
    first, second = synth(LINES[0], voice, speed, pitch), synth(LINES[1], voice, speed, pitch)
    recording = np.concatenate([silence(0.5), first, silence(1.0), second, silence(0.5)])
    first_end = 5000 + 500 + first.size * 1000 // 16000
    second_start = first_end + 1000
    heard = [
        ("live-a", 5500, 7000, "The quarterly budget"),
        ("live-b", 7100, first_end, "reviews scheduled for thirsty afternoon."),
        ("live-c", second_start, second_start + second.size * 1000 // 16000, "Please send the updated plan to everyone."),
    ]
    segments = [
        {"segment_id": i, "speaker": "user-carol", "speaker_name": "Carol", "start_ms": a, "end_ms": b, "text": t}
        for i, a, b, t in heard
    ]
    stored = httpx.post(
        f"{api}/internal/v1/sessions/{session_id}/segments", json={"segments": segments}, headers=agent, timeout=15
    )
    assert stored.status_code == 200, stored.text
    uploaded = httpx.post(
        f"{api}/internal/v1/sessions/{session_id}/recordings",
        params={"track": "user-carol", "offset_ms": 5000},
        content=wav_bytes(recording),
        headers={**agent, "Content-Type": "audio/wav"},
        timeout=60,
    )
    assert uploaded.status_code == 201, uploaded.text
    done = httpx.post(f"{api}/internal/v1/sessions/{session_id}/status", json={"status": "completed"}, headers=agent, timeout=15)
    assert done.status_code == 200

    deadline, transcript = time.monotonic() + 180, {}
    while time.monotonic() < deadline:
        transcript = httpx.get(f"{api}/api/v1/sessions/{session_id}/transcript", headers=owner, timeout=15).json()
        if transcript["version"] > 1:
            break
        time.sleep(1.0)
    assert transcript["version"] == 2, transcript
    new = transcript["segments"]
    text = " ".join(s["text"] for s in new)
    reference = f"{LINES[0]} {LINES[1]}"
    error, live_error = (jiwer.wer(normalize(reference), normalize(t)) for t in (text, " ".join(t for *_, t in heard)))
    assert error <= 0.15 and error < live_error, text
    assert {s["speaker"] for s in new} == {"user-carol"} and {s["speaker_name"] for s in new} == {"Carol"}
    ids = [s["segment_id"] for s in new]
    assert {"live-a", "live-b", "live-c"} & set(ids) and len(ids) == len(set(ids))  # ids kept where lines align
    assert all(s["words"] for s in new)  # word timings on the session clock
    assert new[0]["words"][0]["start_ms"] >= 5000
    # The live version is kept.
    before = httpx.get(f"{api}/api/v1/sessions/{session_id}/transcript", params={"version": 1}, headers=owner, timeout=15).json()
    assert [s["text"] for s in before["segments"]] == [t for *_, t in heard]
    detail = httpx.get(f"{api}/api/v1/sessions/{session_id}", headers=owner, timeout=15).json()
    assert detail["improving"] is False
