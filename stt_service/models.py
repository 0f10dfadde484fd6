"""Fetch the STT models the settings name into the model cache, for an air-gapped install: run it
where a network exists (``make models``), then bring ``STT_MODEL_CACHE_DIR`` along.

    python -m stt_service.models fetch                        # what STT_* (environment, .env) names
    python -m stt_service.models fetch --whisper large-v3 --funasr paraformer-zh --funasr fsmn-vad

Every hub model is checked against the hub (a first download, or an update); embedded models are
assembled. Exit status 1, with one line naming the setting, when one cannot be fetched."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from stt_service.model_store import ModelUnavailable, resolve_funasr_model, resolve_whisper_model
from stt_service.settings import STTSettings


def fetch(whisper: list[str], funasr: list[tuple[str, str]], cache: Path) -> list[str]:
    """Each model's folder, as ``kind name: folder`` lines."""
    lines = [f"whisper {name}: {resolve_whisper_model(name, cache, refresh=True, progress=True)}" for name in whisper]
    lines += [f"funasr {value}: {resolve_funasr_model(value, cache, setting=setting, refresh=True)}" for setting, value in funasr]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stt_service.models", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fetch_parser = commands.add_parser("fetch", help="download (or update) models into STT_MODEL_CACHE_DIR")
    fetch_parser.add_argument("--whisper", action="append", default=[], help="a Whisper model (instead of STT_WHISPER_MODEL)")
    fetch_parser.add_argument("--funasr", action="append", default=[], help="a FunASR model (instead of STT_FUNASR_*)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    settings = STTSettings()
    if args.whisper or args.funasr:
        whisper = args.whisper
        funasr = [("STT_FUNASR_MODEL", value) for value in args.funasr]
    else:
        whisper = [settings.stt_whisper_model]
        configured = {
            "STT_FUNASR_MODEL": settings.stt_funasr_model,
            "STT_FUNASR_VAD_MODEL": settings.stt_funasr_vad_model,
            "STT_FUNASR_PUNC_MODEL": settings.stt_funasr_punc_model,
        }
        funasr = [(setting, value) for setting, value in configured.items() if value]
    try:
        for line in fetch(whisper, funasr, Path(settings.stt_model_cache_dir)):
            print(line)
    except ModelUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
