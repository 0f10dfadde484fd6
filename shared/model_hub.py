"""Models named by a hub id, downloaded once into the service's model cache.

A setting such as ``STT_WHISPER_MODEL=small`` or ``DIARIZATION_PYANNOTE_MODEL=pyannote/…`` names
a model repository; it is fetched into ``<cache>/huggingface`` (the Hugging Face cache layout,
so ``huggingface-cli``/``hf`` and every library that reads that cache see it too) and loaded from
there as a local folder. A start-up finds a complete copy in the cache without asking the hub;
``fetch`` (``make models``) always asks it, for a first download or an update. ``HF_ENDPOINT``,
``HF_TOKEN`` and ``HF_HUB_OFFLINE`` work as huggingface_hub documents them.

huggingface_hub is imported only when a hub id is used: it is in the model services'
environments (faster-whisper and pyannote.audio depend on it), not in every service's."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# owner/name, as on the Hugging Face Hub and ModelScope (no leading dot or slash: those are paths).
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
HUGGING_FACE_CACHE = "huggingface"


class ModelUnavailable(RuntimeError):
    """A configured model cannot be found or fetched; the message names the setting."""


def is_repo_id(value: str) -> bool:
    """``owner/name`` and not an existing path."""
    return bool(_REPO_ID.fullmatch(value)) and not Path(value).exists()


def reason(error: BaseException) -> str:
    """One line for what went wrong: the network error under a hub library's explanation."""
    cause = error.__cause__ or error
    lines = str(cause).strip().splitlines()
    text = lines[0] if lines else ""
    errno = re.search(r"\[Errno -?\d+\][^\"')]*", text)  # what urllib3's long retry message comes down to
    return f"{type(cause).__name__}: {errno[0].strip() if errno else text}".rstrip(": ")


def offline_advice(setting: str) -> str:
    return (
        "Where a network exists, run `make models` (or start the service once) and bring the model cache along; "
        f"offline, set {setting} to a local model folder."
    )


def hf_snapshot(
    repo_id: str,
    cache_root: Path,
    *,
    setting: str,
    value: str,
    token: str | None = None,
    allow_patterns: list[str] | None = None,
    refresh: bool = False,
    progress: bool = False,
) -> Path:
    """The local folder of Hugging Face repository ``repo_id`` (``setting=value`` asked for it)."""
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    from huggingface_hub.utils import disable_progress_bars

    if not progress:
        disable_progress_bars()
    cache = cache_root / HUGGING_FACE_CACHE
    kwargs: dict[str, Any] = {"cache_dir": str(cache), "allow_patterns": allow_patterns, "token": token or None}
    if not refresh:
        try:
            return Path(huggingface_hub.snapshot_download(repo_id, local_files_only=True, **kwargs))
        except LocalEntryNotFoundError:
            pass  # not (completely) in the cache: download it
    named = f"{setting}={value!r}" + (f" (the Hugging Face model {repo_id})" if value != repo_id else "")
    source = "nowhere (HF_HUB_OFFLINE)" if constants.HF_HUB_OFFLINE else constants.ENDPOINT
    log.info("%s: fetching %s from %s into %s", setting, repo_id, source, cache)
    try:
        folder = Path(huggingface_hub.snapshot_download(repo_id, **kwargs))
    except GatedRepoError as error:
        status = error.response.status_code if error.response is not None else 401
        what = "no token was sent" if status == 401 else "the token sent has not been granted access"
        raise ModelUnavailable(
            f"{named} is gated on Hugging Face and {what}: accept its conditions at "
            f"{constants.ENDPOINT}/{repo_id} with your account, then set HF_TOKEN (or this service's "
            "token setting) to a read token of that account"
        ) from error
    except RepositoryNotFoundError as error:
        raise ModelUnavailable(
            f"{named}: no such model on {constants.ENDPOINT} (or it is private: set HF_TOKEN); "
            "give a repository id, a name this setting lists, or a local folder"
        ) from error
    except RevisionNotFoundError as error:
        raise ModelUnavailable(f"{named}: {reason(error)}") from error
    except LocalEntryNotFoundError as error:
        raise ModelUnavailable(
            f"{named} is not in the model cache {cache} and cannot be downloaded now ({reason(error)}). "
            + offline_advice(setting)
        ) from error
    except (HfHubHTTPError, OSError) as error:
        raise ModelUnavailable(f"{named} could not be downloaded from {constants.ENDPOINT}: {reason(error)}") from error
    log.info("%s: %s is in %s", setting, repo_id, folder)
    return folder
