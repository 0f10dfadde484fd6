from __future__ import annotations

from pydantic import Field

from shared.settings import LiveKitSettings, ServiceSettings


class APISettings(ServiceSettings, LiveKitSettings):
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # LiveKit URL handed to browsers and devices (the agent and API use LIVEKIT_URL).
    livekit_public_url: str = ""
    redis_url: str = "redis://127.0.0.1:6379/0"
    # SQLAlchemy async URL: embedded SQLite by default; PostgreSQL (or Supabase's Postgres) as
    # postgresql+asyncpg://user:pass@host:5432/db
    database_url: str = "sqlite+aiosqlite:///data/intrascribe.db"
    # Apply Alembic migrations at start-up.
    database_auto_migrate: bool = True
    # Secret for verifying HS256 user tokens (local accounts and Supabase projects). Required.
    auth_jwt_secret: str = ""
    auth_jwt_audience: str = "authenticated"
    # JWKS of an external identity provider for RS256/ES256 tokens (Supabase: https://<project>.supabase.co/auth/v1/.well-known/jwks.json).
    auth_jwks_url: str = ""
    # Lifetime of tokens issued to local accounts.
    auth_token_ttl_s: int = 86400
    # Log-in and sign-up attempts per client address per minute.
    auth_rate_limit_per_minute: int = 10
    # Lifetime of a LiveKit participant token.
    livekit_token_ttl_s: int = 3600
    cors_origins: list[str] = Field(default_factory=list)
    # Uploaded and recorded audio (local filesystem storage).
    audio_storage_dir: str = "data/audio"
    # Batch uploads per client address per minute.
    upload_rate_limit_per_minute: int = 30
    # Largest upload accepted for batch transcription, bytes.
    batch_max_upload_bytes: int = 2 * 1024**3
    # Batch worker: seconds without a heartbeat before a dead worker's jobs are run again elsewhere.
    job_heartbeat_timeout_s: int = 60
    # Batch worker threads (jobs at once per worker process) and its health endpoint.
    worker_threads: int = 2
    worker_http_port: int = 8003
    # YAML file listing the LLMs for summaries (see api_service/llm.py); empty = extractive fallback.
    llm_config_file: str = ""
    stt_url: str = "http://127.0.0.1:8001"
    diarization_url: str = "http://127.0.0.1:8002"
