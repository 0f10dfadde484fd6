from __future__ import annotations

from pydantic import Field

from shared.settings import LiveKitSettings, ServiceSettings


class APISettings(ServiceSettings, LiveKitSettings):
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # LiveKit URL handed to browsers and devices (the agent and API use LIVEKIT_URL).
    livekit_public_url: str = ""
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Secret for verifying HS256 user tokens (local accounts and Supabase projects). Required.
    auth_jwt_secret: str = ""
    auth_jwt_audience: str = "authenticated"
    # Lifetime of a LiveKit participant token.
    livekit_token_ttl_s: int = 3600
    cors_origins: list[str] = Field(default_factory=list)
    stt_url: str = "http://127.0.0.1:8001"
    diarization_url: str = "http://127.0.0.1:8002"
