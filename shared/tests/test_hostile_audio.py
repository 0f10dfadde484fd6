"""The decoder against the hostile-input corpus (tests/hostile/): playlists, lists of other
files, session descriptions and lying headers are refused with a sentence, and nothing is
fetched, whether the input comes as bytes, a path or a file object named like a playlist."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.audio import AudioDecodeError, AudioError, AudioLimits, AudioTooShort, decode_audio, probe_audio
from shared.pcm_file import decode_to_file
from tests.hostile import CORPUS, DECODED_BY_CONTENT, LEAKS, Listener, corpus_files

pytestmark = [pytest.mark.unit]

LIMITS = AudioLimits(min_seconds=0.5)


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


class NamedBytes(io.BytesIO):
    """How the batch worker used to open a stored upload: a file object keeping the user's name."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name


def pcm_file(source: bytes | Path | io.BytesIO, limits: AudioLimits) -> object:
    """``decode_to_file`` (diarization, batch worker) takes file objects only."""
    if isinstance(source, io.BytesIO):
        return decode_to_file(source, limits)
    if isinstance(source, bytes):
        return decode_to_file(io.BytesIO(source), limits)
    with open(source, "rb") as file:
        return decode_to_file(file, limits)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_hostile_file_is_refused_with_a_sentence_and_fetches_nothing(path: Path, listener: Listener, tmp_path: Path) -> None:
    data = listener.payload(path)
    on_disk = tmp_path / path.name
    on_disk.write_bytes(data)
    sources: dict[str, Callable[[], Any]] = {
        "bytes": lambda: data,
        "file object named like the upload": lambda: NamedBytes(data, path.name),
        "path": lambda: on_disk,
    }
    for how, source in sources.items():
        if path.name in DECODED_BY_CONTENT:
            assert probe_audio(source(), LIMITS).duration_s == pytest.approx(DECODED_BY_CONTENT[path.name], abs=0.05)
            assert decode_audio(source(), LIMITS).size / 16_000 == pytest.approx(DECODED_BY_CONTENT[path.name], abs=0.05)
            continue
        for decode in (decode_audio, probe_audio, pcm_file):
            with pytest.raises(AudioError) as err:
                decode(source(), LIMITS)
            message = str(err.value)
            assert 400 <= err.value.status_code < 500
            assert not LEAKS.search(message), f"{path.name} via {how}: {message}"
            assert message[0].isupper() and message.endswith("."), message
    assert listener.requests == [], f"{path.name} made the decoder fetch {listener.requests}"


def test_the_corpus_covers_what_the_audit_named() -> None:
    names = {p.name for p in corpus_files()}
    assert {"hls_http.m3u8", "hls_file.m3u8", "list.ffconcat", "stream.sdp", "empty.wav", "short_0.2s.wav"} <= names
    assert len(names) >= 14


def test_short_audio_says_no_speech() -> None:
    with pytest.raises(AudioTooShort, match=r"No speech found: the recording is 0\.2 s long"):
        decode_audio((CORPUS / "short_0.2s.wav").read_bytes(), LIMITS)
    assert decode_audio((CORPUS / "short_0.2s.wav").read_bytes()).size == 3200  # no minimum by default


def test_decoding_has_a_deadline() -> None:
    tone = (CORPUS / "claims_10h.wav").read_bytes()
    with pytest.raises(AudioDecodeError, match="Decoding took longer than 0 s"):
        decode_audio(tone, AudioLimits(decode_timeout_s=0.0))
