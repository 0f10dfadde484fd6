"""Log records: credentials in query strings (device tokens) are redacted before any handler
writes them, whatever logger they come from."""

from __future__ import annotations

import logging

import pytest

from shared.logs import configure_logging

pytestmark = [pytest.mark.unit]


def test_query_string_tokens_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test", "INFO")
    access = logging.getLogger("uvicorn.access")
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/v1/device?room=a&token=dev-SECRET-123", "1.1", 101)
    logging.getLogger("uvicorn.error").info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", "/v1/device?token=abc.def.ghi")
    logging.getLogger("app").info("no secret here: /api/v1/sessions/?limit=5")
    err = capsys.readouterr().err
    assert "dev-SECRET-123" not in err and "abc.def.ghi" not in err
    assert err.count("token=[redacted]") == 2
    assert "/v1/device?room=a&token=[redacted]" in err and "?limit=5" in err
