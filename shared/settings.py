"""Settings base class. Each service subclasses it (``api_service/settings.py`` etc.); a field's
name is its environment variable (``stt_port`` ↔ ``STT_PORT``). Every field must be documented in
``.env.example`` with the same default (a test checks that)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_CONFIG = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


class ServiceSettings(BaseSettings):
    """Variables every service reads."""

    model_config = _CONFIG

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Per-service credentials for service-to-service calls: {"api": "<key>", "agent": "<key>"}.
    # A service calls others with its own entry and accepts callers listed here.
    service_keys: dict[str, str] = Field(default_factory=dict)
    # Largest audio body any service accepts, and the longest decoded duration.
    max_audio_bytes: int = 512 * 1024 * 1024
    max_audio_seconds: float = 4 * 3600.0


class LiveKitSettings(BaseSettings):
    """Where the LiveKit server is, for services that talk to it (API, agent)."""

    model_config = _CONFIG

    livekit_url: str = "ws://127.0.0.1:7880"
    livekit_api_key: str = "devkey"
    livekit_api_secret: str = "secret"  # noqa: S105 - livekit-server --dev key pair
    # Explicit agent name: the API dispatches this agent into each session's room.
    agent_name: str = "intrascribe-transcriber"
