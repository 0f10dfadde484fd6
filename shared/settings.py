"""Settings base class. Each service subclasses it (``api_service/settings.py`` etc.); a field's
name is its environment variable (``stt_port`` ↔ ``STT_PORT``). Every field must be documented in
``.env.example`` with the same default (a test checks that)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared import security
from shared.audio import AudioLimits

_CONFIG = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


class ServiceSettings(BaseSettings):
    """Variables every service reads."""

    model_config = _CONFIG

    # production (the default): refuse to start with well-known or weak secrets (shared/security.py).
    # development: no checks; for loopback-only stacks (make run, the tests).
    intrascribe_env: Literal["development", "production"] = "production"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Per-service credentials for service-to-service calls: {"api": "<key>", "agent": "<key>"}.
    # A service calls others with its own entry and accepts callers listed here.
    service_keys: dict[str, str] = Field(default_factory=dict)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated addresses, or
    # "*" where only the proxy can reach the service): the client address rate limits count.
    trusted_proxies: str = "127.0.0.1"
    # Largest audio body any service accepts, and the longest decoded duration.
    max_audio_bytes: int = 512 * 1024 * 1024
    max_audio_seconds: float = 4 * 3600.0
    # Audio files shorter than this are refused as holding no speech (raw PCM is not).
    min_audio_seconds: float = 0.5
    # Wall-clock bound on decoding one audio file.
    audio_decode_timeout_s: float = 600.0

    def production_problems(self) -> list[str]:
        """What production mode refuses in this service's settings (subclasses add their own)."""
        problems = security.service_keys_problems(self.service_keys)
        if isinstance(self, LiveKitSettings):
            problems += security.livekit_problems(self.livekit_api_key, self.livekit_api_secret)
        return problems

    def audio_limits(self, max_bytes: int | None = None, min_seconds: float | None = None) -> AudioLimits:
        """Limits for audio files from outside; recordings the system made itself pass
        ``min_seconds=0`` (a participant may have said nothing)."""
        return AudioLimits(
            max_bytes or self.max_audio_bytes,
            self.max_audio_seconds,
            self.min_audio_seconds if min_seconds is None else min_seconds,
            self.audio_decode_timeout_s,
        )


class LiveKitSettings(BaseSettings):
    """Where the LiveKit server is, for services that talk to it (API, agent)."""

    model_config = _CONFIG

    livekit_url: str = "ws://127.0.0.1:7880"
    livekit_api_key: str = "devkey"
    livekit_api_secret: str = "secret"  # noqa: S105 - livekit-server --dev key pair
    # Explicit agent name: the API dispatches this agent into each session's room.
    agent_name: str = "intrascribe-transcriber"
