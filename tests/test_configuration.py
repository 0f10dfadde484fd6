"""Every setting any service reads is documented in .env.example with its real default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from agent_service.settings import AgentSettings, BridgeSettings
from api_service.settings import APISettings
from devstack.__main__ import PORT_VARS
from diarization_service.settings import DiarizationSettings
from stt_service.settings import STTSettings

pytestmark = [pytest.mark.unit]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / ".env.example"
SETTINGS: list[type[BaseSettings]] = [APISettings, STTSettings, DiarizationSettings, AgentSettings, BridgeSettings]


def documented() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in EXAMPLE.read_text().splitlines() if re.match(r"^[A-Z0-9_]+=", line))
    return {key: value for key, value in pairs}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in documented():
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("settings_class", SETTINGS, ids=lambda c: c.__name__)
def test_every_field_is_documented_with_its_default(settings_class: type[BaseSettings]) -> None:
    names = {name.upper() for name in settings_class.model_fields}
    missing = names - set(documented())
    assert not missing, f"add to .env.example: {sorted(missing)}"
    from_example = settings_class(_env_file=EXAMPLE)
    defaults = settings_class(_env_file=None)
    assert from_example.model_dump() == defaults.model_dump()


def test_nothing_documented_is_unread() -> None:
    read = {name.upper() for cls in SETTINGS for name in cls.model_fields} | set(PORT_VARS.values())
    assert set(documented()) - read == set()
