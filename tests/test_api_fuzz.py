"""Property-based fuzzing of the API's OpenAPI schema with schemathesis, against a real API
process: whatever the input, no 5xx."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from devstack.components import ROOT
from devstack.pytest_plugin import ServiceFactory
from tests.mail_server import MailServer

pytestmark = [pytest.mark.service, pytest.mark.slow]

# Streams never end; connection details, removing a participant and ending a meeting need a LiveKit
# server (without one they answer 503 by design).
EXCLUDED = r"(/events$|/connection-details$|/participants/|/end$)"


def test_no_input_makes_the_api_fail(services: ServiceFactory, redis_url: str, tmp_path: Path) -> None:
    # A real SMTP server, so the password-reset routes do their work (without one they answer 503).
    with MailServer() as mail:
        fuzz(services, redis_url, tmp_path, mail)


def fuzz(services: ServiceFactory, redis_url: str, tmp_path: Path, mail: MailServer) -> None:
    api = services.start(
        "api_service",
        "API_PORT",
        {
            "REDIS_URL": redis_url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/db.sqlite",
            "AUDIO_STORAGE_DIR": str(tmp_path / "audio"),
            "AUTH_RATE_LIMIT_PER_MINUTE": "100000",
            "UPLOAD_RATE_LIMIT_PER_MINUTE": "100000",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(mail.port),
            "SMTP_STARTTLS": "false",
        },
        name="api-fuzz",
    )
    token = httpx.post(
        f"{api}/api/v1/auth/signup", json={"email": f"{uuid.uuid4().hex[:8]}@example.com", "password": "fuzzing-pass"}
    )
    result = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "schemathesis"),
            "run",
            f"{api}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--header",
            f"Authorization: Bearer {token.json()['access_token']}",
            "--max-examples",
            "12",
            "--seed",
            "1",
            "--exclude-path-regex",
            EXCLUDED,
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:]
    assert httpx.get(f"{api}/health/ready").status_code == 200
