"""Redaction settings through the API in process (SQLite): a user's default, a session's own (a new
session takes the default), what is refused with a sentence, and the agent's view of it. The
rule applied to what is stored: tests/test_api_service.py (real Redis, both databases)."""

from __future__ import annotations

import httpx
import pytest

from api_service.tests.test_routes_in_process import AGENT_KEYS, api, signup
from shared.contracts.internal import SessionInfo
from shared.service_auth import service_header

pytestmark = [pytest.mark.unit]
__all__ = ["api"]  # the in-process API fixture, used here too

AGENT = service_header("agent", AGENT_KEYS)
OFF = {"enabled": False, "kinds": ["email", "phone", "card", "account"], "terms": []}


async def test_a_users_default_is_a_new_sessions_policy_and_a_session_may_have_its_own(api: httpx.AsyncClient) -> None:
    alice = await signup(api)
    assert (await api.get("/api/v1/me/redaction", headers=alice)).json() == OFF
    assert (await api.post("/api/v1/sessions/", json={}, headers=alice)).json()["redaction"] == OFF

    mine = {"enabled": True, "kinds": ["phone", "email"], "terms": [" Project  Falcon ", "project falcon", "Okonkwo"]}
    put = await api.put("/api/v1/me/redaction", json=mine, headers=alice)
    kept = {"enabled": True, "kinds": ["email", "phone"], "terms": ["Project Falcon", "Okonkwo"]}
    assert put.status_code == 200 and put.json() == kept
    assert (await api.get("/api/v1/me/redaction", headers=alice)).json() == kept
    session = (await api.post("/api/v1/sessions/", json={"title": "Takes the default"}, headers=alice)).json()
    assert session["redaction"] == kept
    own = (await api.post("/api/v1/sessions/", json={"redaction": {"enabled": False}}, headers=alice)).json()
    assert own["redaction"] == OFF
    # Another user's default is their own.
    assert (await api.get("/api/v1/me/redaction", headers=await signup(api))).json() == OFF

    info = await api.get(f"/internal/v1/sessions/{session['id']}", headers=AGENT)
    assert SessionInfo.model_validate_json(info.text).redaction.model_dump(mode="json") == kept

    for policy, sentence in (
        ({"kinds": ["email", "ssn"]}, "'ssn' is not something redaction can find: choose from email, phone, card and account."),
        ({"terms": [f"name {n}" for n in range(101)]}, "The redaction list has 101 terms: keep it to 100 or fewer."),
        ({"terms": ["Okonkwo", "a" * 65]}, "Redaction term 2 ('aaaaaaaaaaaaaaaaaaaaa…') is 65 characters long"),
        ({"terms": ["***"]}, "Redaction term 1 ('***') has no letters or digits."),
    ):
        for method, path, body in (
            ("PUT", "/api/v1/me/redaction", policy),
            ("POST", "/api/v1/sessions/", {"redaction": policy}),
            ("PATCH", f"/api/v1/sessions/{session['id']}", {"redaction": policy}),
        ):
            answer = await api.request(method, path, json=body, headers=alice)
            assert answer.status_code == 422 and sentence in answer.json()["detail"][0]["msg"], (path, answer.text)
    assert (await api.get(f"/api/v1/sessions/{session['id']}", headers=alice)).json()["redaction"] == kept
