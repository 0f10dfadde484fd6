"""``DIARIZATION_PYANNOTE_MODEL=pyannote/speaker-diarization-community-1`` with a token, the way
pyannote's users name it: downloaded once through the real huggingface_hub from a local stand-in
of the Hub (``tests/model_hubs.py``, pointed at by ``HF_ENDPOINT``) that serves the
random-weight pipeline the tests build (no real weights can be downloaded here) as a gated
repository; then loaded from the cache with the hub gone. Without access, or offline with
nothing cached, it is one clear error naming the setting."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest

from devstack.components import StackSecrets
from devstack.procs import ProcessFailed, free_port
from diarization_service.settings import DiarizationSettings
from shared.service_auth import service_header
from tests.model_hubs import HuggingFaceHub, fetch_models, model_service
from tests.speech import VOICES, silence, synth, wav_bytes

pytestmark = [pytest.mark.service]

COMMUNITY_1 = "pyannote/speaker-diarization-community-1"
TOKEN = "hf_local_test_token_granted"  # noqa: S105 - the stand-in hub's own token
KEYS = StackSecrets()
CLOSED = f"http://127.0.0.1:{free_port()}"  # nothing listens here: the Hub as seen offline


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.random_pipeline import build

    return build(tmp_path_factory.mktemp("community-layout"))


def hub_env(tmp_path: Path, endpoint: str = CLOSED, token: str = "") -> dict[str, str]:
    """Where the Hub is, the token as users give it (HF_TOKEN), no state from this machine's home."""
    return {
        "HF_ENDPOINT": endpoint,
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_TOKEN": token,
        "HF_HUB_OFFLINE": "0",
        "DIARIZATION_MODEL_CACHE_DIR": str(tmp_path / "models"),
        "DIARIZATION_PYANNOTE_MODEL": COMMUNITY_1,
    }


def diarization(tmp_path: Path, name: str, env: dict[str, str]) -> contextlib.AbstractContextManager[str]:
    return model_service("diarization_service", tmp_path, name, KEYS, env)


def fetch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return fetch_models("diarization_service", env, *args)


def check_engine(url: str) -> None:
    info = httpx.get(f"{url}/info").json()
    assert (info["engine"], info["model"], info["embedding_dim"]) == ("pyannote", COMMUNITY_1, 256)
    audio = np.concatenate(
        [silence(0.5), synth("We should ship on Friday.", VOICES[0][0]), synth("No, Monday is safer.", VOICES[1][0])]
    )
    auth = service_header("api", KEYS.service_keys)
    body = httpx.post(f"{url}/diarize", content=wav_bytes(audio), headers=auth, timeout=300).json()
    assert body["engine"] == "pyannote"
    assert all(0 <= t["start_ms"] < t["end_ms"] <= body["duration_ms"] for t in body["turns"] + body["exclusive_turns"])


def test_a_gated_pipeline_downloads_once_with_a_token_then_loads_offline(tmp_path: Path, pipeline: Path) -> None:
    hub = HuggingFaceHub()
    hub.add_folder(COMMUNITY_1, pipeline, token=TOKEN)
    with hub, diarization(tmp_path, "diarization-community-1", hub_env(tmp_path, hub.url, TOKEN)) as url:
        check_engine(url)
    files = [r for r in hub.requests if r.method == "GET" and "/resolve/" in r.path]
    assert sorted(hub.file_of(r) for r in files) == sorted(
        [
            "config.yaml",
            "embedding/pytorch_model.bin",
            "segmentation/pytorch_model.bin",
            "plda/plda.npz",
            "plda/xvec_transform.npz",
        ]
    )
    assert all(r.authorization == f"Bearer {TOKEN}" for r in files)
    # The cache carried to an air-gapped host (another path), no Hub, no token: the pipeline comes from it.
    carried = tmp_path / "air-gapped" / "models"
    carried.parent.mkdir()
    shutil.move(tmp_path / "models", carried)
    offline = {**hub_env(tmp_path), "DIARIZATION_MODEL_CACHE_DIR": str(carried)}
    with diarization(tmp_path, "diarization-community-1-offline", offline) as url:
        check_engine(url)


def test_without_access_the_error_says_how_to_get_it(tmp_path: Path, pipeline: Path) -> None:
    hub = HuggingFaceHub()
    hub.add_folder(COMMUNITY_1, pipeline, token=TOKEN)
    with hub:
        anonymous = fetch(hub_env(tmp_path, hub.url))
        refused = fetch({**hub_env(tmp_path, hub.url), "DIARIZATION_HF_TOKEN": "hf_another_account"})
    assert anonymous.returncode == refused.returncode == 1
    for result, what in ((anonymous, "no token was sent"), (refused, "has not been granted access")):
        error = result.stderr.splitlines()[-1]
        assert error.startswith(f"error: DIARIZATION_PYANNOTE_MODEL='{COMMUNITY_1}' is gated on Hugging Face"), error
        assert what in error and f"{hub.url}/{COMMUNITY_1}" in error and "HF_TOKEN" in error
    assert not (tmp_path / "models" / "huggingface" / "models--pyannote--speaker-diarization-community-1" / "snapshots").exists()


def test_offline_with_nothing_cached_the_service_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ProcessFailed) as failed, diarization(tmp_path, "diarization-offline", hub_env(tmp_path, token=TOKEN)):
        pass
    errors = [line for line in str(failed.value).splitlines() if "failed to load" in line]
    assert len(errors) == 1, str(failed.value)
    assert f"DIARIZATION_PYANNOTE_MODEL='{COMMUNITY_1}'" in errors[0] and "cannot be downloaded now" in errors[0]


def test_the_older_folder_setting_still_works(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("DIARIZATION_PYANNOTE_MODEL", raising=False)
    monkeypatch.setenv("DIARIZATION_PYANNOTE_DIR", "/srv/community-1")
    assert DiarizationSettings().diarization_pyannote_model == "/srv/community-1"
