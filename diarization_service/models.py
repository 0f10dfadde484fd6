"""Where the pyannote pipeline comes from: a local folder, or a Hugging Face repository downloaded
once into ``<DIARIZATION_MODEL_CACHE_DIR>/huggingface`` and loaded from there as a folder.

    python -m diarization_service.models fetch             # what DIARIZATION_PYANNOTE_MODEL names
    python -m diarization_service.models fetch --pyannote pyannote/speaker-diarization-community-1

``fetch`` (``make models``) always asks the hub (a first download, or an update); a start-up uses
a complete cached copy without asking. pyannote's pipelines are gated: accept the conditions on
the model's page, then give a read token in ``DIARIZATION_HF_TOKEN`` or ``HF_TOKEN``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from diarization_service.settings import DiarizationSettings
from shared.model_hub import ModelUnavailable, hf_snapshot, is_repo_id

SETTING = "DIARIZATION_PYANNOTE_MODEL"


def is_hub_pipeline(value: str) -> bool:
    return bool(value) and is_repo_id(value)


def resolve_pyannote_pipeline(
    value: str, cache_dir: Path, token: str | None = None, *, refresh: bool = False, progress: bool = False
) -> Path:
    """The pipeline folder (config.yaml and the models it names) for ``DIARIZATION_PYANNOTE_MODEL``."""
    path = Path(value)
    if (path / "config.yaml").exists():
        return path
    if not is_hub_pipeline(value):
        raise ModelUnavailable(
            f"{SETTING}={value!r} is neither a pyannote pipeline folder (config.yaml) nor a Hugging Face "
            "repository id such as pyannote/speaker-diarization-community-1"
        )
    folder = hf_snapshot(value, cache_dir, setting=SETTING, value=value, token=token, refresh=refresh, progress=progress)
    if not (folder / "config.yaml").exists():
        raise ModelUnavailable(f"{SETTING}={value!r}: the repository has no config.yaml, so it is not a pyannote pipeline")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m diarization_service.models", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="download (or update) the pipeline into DIARIZATION_MODEL_CACHE_DIR")
    fetch.add_argument("--pyannote", action="append", default=[], help="a pipeline (instead of DIARIZATION_PYANNOTE_MODEL)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    settings = DiarizationSettings()
    pipelines = args.pyannote or [m for m in [settings.diarization_pyannote_model] if m]
    if not pipelines:
        print("embedded diarization engine: its models ship in registry packages, nothing to fetch")
        return 0
    try:
        for value in pipelines:
            folder = resolve_pyannote_pipeline(
                value,
                Path(settings.diarization_model_cache_dir),
                settings.diarization_hf_token or None,
                refresh=True,
                progress=True,
            )
            print(f"pyannote {value}: {folder}")
    except ModelUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
