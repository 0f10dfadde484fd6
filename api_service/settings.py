from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared import security
from shared.settings import LiveKitSettings, ServiceSettings


class APISettings(ServiceSettings, LiveKitSettings):
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # LiveKit URL handed to browsers and devices (the agent and API use LIVEKIT_URL).
    livekit_public_url: str = ""
    # The device bridge's WebSocket URL as microphones reach it (wss://<host>/v1/device behind the
    # proxy), shown in the web app's set-up steps. Empty: the web app assumes the same host.
    device_bridge_public_url: str = ""
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
    # Who may create a local account: open (anyone), invite (emails an admin invited with
    # `python -m api_service.admin invite EMAIL`), closed (only `admin create-user`). Empty: open,
    # or closed when Supabase Auth signs people in.
    auth_signup: Literal["open", "invite", "closed", ""] = ""
    # Log-in and sign-up attempts per client address per minute.
    auth_rate_limit_per_minute: int = 10
    # Where people open the web app (https://notes.example.com): the base of links sent by e-mail.
    # Empty: http://API_HOST:API_PORT (development only; production requires it with SMTP_HOST).
    public_base_url: str = ""
    # Outgoing e-mail (password-reset links for local accounts). Empty SMTP_HOST: no e-mail; a
    # forgotten password is reset by an administrator (`python -m api_service.admin reset-password`).
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "Intrascribe <no-reply@localhost>"
    smtp_starttls: bool = True
    smtp_timeout_s: float = Field(default=20.0, gt=0)
    # Lifetime of a password-reset link, seconds (the link works once).
    password_reset_ttl_s: int = Field(default=1800, ge=60)
    # Lifetime of a LiveKit participant token.
    livekit_token_ttl_s: int = 3600
    cors_origins: list[str] = Field(default_factory=list)
    # Where recordings live: "local" (AUDIO_STORAGE_DIR) or "supabase" (a private Supabase Storage
    # bucket; AUDIO_STORAGE_DIR then only holds scratch files while uploads are checked and decoded).
    audio_storage: Literal["local", "supabase"] = "local"
    audio_storage_dir: str = "data/audio"
    # Supabase Storage: project URL, the service_role key (server-side only), the bucket (created
    # private when missing; a public one is refused) and the lifetime of playback URLs.
    supabase_url: str = ""
    supabase_service_key: str = ""
    supabase_storage_bucket: str = "recordings"
    supabase_signed_url_ttl_s: int = Field(default=300, ge=1)
    # Batch uploads per user (and per client address) per minute.
    upload_rate_limit_per_minute: int = 30
    # Per-user daily quotas (0 = no limit): batch uploads, minutes of uploaded audio, summaries,
    # titles, questions and briefs (LLM calls); and the most webhooks one user may have.
    quota_uploads_per_day: int = 200
    quota_audio_minutes_per_day: int = 1440
    quota_summaries_per_day: int = 200
    quota_webhooks_per_user: int = 20
    # Largest upload accepted for batch transcription, bytes.
    batch_max_upload_bytes: int = 2 * 1024**3
    # Largest request body of every other route (JSON, forms), bytes: refused with 413 as it streams in.
    api_max_body_bytes: int = 1024 * 1024
    # Batch worker: seconds without a heartbeat before a dead worker's jobs are run again elsewhere.
    job_heartbeat_timeout_s: int = 60
    # Batch worker: every LIVE_SESSION_SWEEP_S, sessions live and untouched for LIVE_SESSION_GRACE_S
    # whose LiveKit room is gone or empty are completed (their agent crashed or its call was lost).
    live_session_sweep_s: float = 60.0
    live_session_grace_s: float = 300.0
    # Batch worker: every AGENT_WATCH_S, live sessions whose agent's heartbeat stopped while people
    # remain in the room are dispatched again (once per AGENT_REDISPATCH_WAIT_S each).
    agent_watch_s: float = Field(default=1.0, gt=0)
    agent_redispatch_wait_s: float = Field(default=30.0, gt=0)
    # After "End meeting", post-meeting processing waits this long for the agent's last finals.
    meeting_end_grace_s: float = Field(default=10.0, ge=0)
    # After a meeting: transcribe each participant's recording again with the whole recording as
    # context and replace the live text with it (a new transcript version; api_service/jobs/post_meeting.py).
    post_meeting_retranscribe: bool = True
    # Batch worker threads (jobs at once per worker process) and its health endpoint.
    worker_threads: int = 2
    worker_http_port: int = 8003
    # Webhook deliveries: threads of their own in the worker, and the limit on one whole attempt.
    webhook_threads: int = 2
    webhook_timeout_s: float = 10.0
    # Let webhooks (per user, or a batch upload's webhook_url) target loopback, private or
    # link-local addresses. Off by default: such URLs could reach services inside your network.
    webhook_allow_private_targets: bool = False
    # The language model for summaries, titles and questions: any LiteLLM model string
    # (openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest, ollama/qwen2.5:7b); its provider's usual
    # key variable (OPENAI_API_KEY, ANTHROPIC_API_KEY, …) is read by LiteLLM. LLM_API_BASE: the
    # server's URL, for a local or OpenAI-compatible one. Empty = LLM_CONFIG_FILE's models only.
    llm_model: str = ""
    llm_api_base: str = ""
    # YAML file listing LLMs in fallback order (see api_service/llm.py), tried after LLM_MODEL;
    # with neither, summaries are an extractive digest and questions answer with passages.
    llm_config_file: str = ""
    stt_url: str = "http://127.0.0.1:8001"
    diarization_url: str = "http://127.0.0.1:8002"
    # Accounts that may read everyone's usage (GET /api/v1/admin/stats): e-mail addresses, comma
    # separated, compared ignoring case. Empty: nobody.
    admin_emails: str = ""
    # Web app: the built single-page app served at / (scripts/build_web.sh makes it).
    web_dist_dir: str = "web/dist"
    # Sign-in through Supabase Auth in the web app (both set): the project URL and its public anon key.
    # Tokens are then verified with AUTH_JWT_SECRET (the project's JWT secret) or AUTH_JWKS_URL.
    auth_supabase_url: str = ""
    auth_supabase_anon_key: str = ""

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if self.auth_jwt_secret or not self.auth_jwks_url:
            problems += [p for p in [security.weak_secret("AUTH_JWT_SECRET", self.auth_jwt_secret)] if p]
        if self.smtp_host and not self.public_base_url:
            problems.append("PUBLIC_BASE_URL must be set with SMTP_HOST: password-reset e-mails link to the web app there")
        return problems + security.redis_problems(self.redis_url) + security.database_problems(self.database_url)

    def is_admin(self, email: str | None) -> bool:
        admins = {e.strip().casefold() for e in self.admin_emails.split(",") if e.strip()}
        return bool(email) and (email or "").strip().casefold() in admins

    @property
    def web_base_url(self) -> str:
        return (self.public_base_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def signup_policy(self) -> str:
        if self.auth_signup:
            return self.auth_signup
        return "closed" if self.auth_supabase_url and self.auth_supabase_anon_key else "open"
