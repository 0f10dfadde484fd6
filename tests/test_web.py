"""The web app in a real headless Chromium (the system's, driven by Playwright) against the real
services: sign-in, live meetings whose fake microphone plays known speech (captions scored by
WER, labelled per speaker), uploads with progress, transcript playback, summaries against the
provider-like test LLM, exports parsed, templates and devices.

A screenshot of the meeting page is kept in the test's tmp dir and in tests/artifacts/."""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
import subprocess
import threading
import time
import uuid
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
import yaml
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright, expect

from devstack.components import user_token
from devstack.procs import free_port
from devstack.pytest_plugin import Servers, ServiceFactory
from shared.service_auth import service_header
from tests.http import call
from tests.llm_server import FakeLLM
from tests.speech import ENGLISH, Utterance, conversation, meeting, silence, wav_bytes, wer

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
# Chromium on a machine without a network or GPU, as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
SLOW = 120_000  # ms: 2 shared cores run the whole stack and up to two browsers
INVITE_LINK = re.compile(r"/join/[\w-]+\?code=\S+")
BLOB_URL = re.compile(r"^blob:")

pytestmark = [pytest.mark.e2e]


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """The built app (built now if web/ changed since the last build; seconds when it did not)."""
    subprocess.run(["bash", str(ROOT / "scripts" / "build_web.sh")], check=True)
    dist = ROOT / "web" / "dist"
    assert (dist / "index.html").is_file(), "the web build did not produce web/dist/index.html"
    return dist


@pytest.fixture(scope="session")
def chromium() -> str:
    assert Path(CHROMIUM).exists(), "Chromium is missing: run `make setup` (apt-get install chromium)"
    return CHROMIUM


@pytest.fixture(scope="session")
async def playwright(chromium: str) -> AsyncIterator[Playwright]:
    async with async_playwright() as pw:
        yield pw


async def launch(pw: Playwright, fake_mic: Path | None = None) -> Browser:
    """The system Chromium; with ``fake_mic`` its microphone plays that WAV (in a loop)."""
    args = list(CHROMIUM_ARGS)
    if fake_mic:
        args += [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={fake_mic}",
        ]
    return await pw.chromium.launch(executable_path=CHROMIUM, args=args)


async def signed_in_page(
    browser: Browser, base: str, token: str, email: str, path: str = "/", *init_scripts: str
) -> tuple[BrowserContext, Page]:
    """A page whose local sign-in is already stored (as the app keeps it after signing in)."""
    context = await browser.new_context(base_url=base, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(30_000)
    stored = json.dumps({"token": token, "email": email})
    await context.add_init_script(
        "if (!localStorage.getItem('intrascribe.auth')) localStorage.setItem('intrascribe.auth',"
        f" JSON.stringify({{...{stored}, expires_at: Date.now() + 3600e3}}));"
    )
    for script in init_scripts:
        await context.add_init_script(script)
    page = await context.new_page()
    await page.goto(path)
    return context, page


def fake_mic_wav(path: Path, parts: list[tuple[str, str]], lead_s: float, tail_s: float = 45.0) -> list[Utterance]:
    """Speech with known text for Chromium's fake microphone: 48 kHz 16-bit PCM mono. Chromium
    loops the file, so a long silent tail keeps each sentence to once per test."""
    audio, utterances = conversation(parts, gap_s=1.5, lead_s=lead_s)
    audio = np.concatenate([audio, silence(tail_s)])
    rate = 48_000
    upsampled = np.interp(np.arange(audio.size * 3) / 3, np.arange(audio.size), audio)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(upsampled, -1, 1) * 32767).astype("<i2").tobytes())
    return utterances


async def finals(page: Page, speaker: str | None = None) -> list[dict[str, str]]:
    selector = "li.caption[data-final='true']" + (f"[data-speaker='{speaker}']" if speaker else "")
    return await page.eval_on_selector_all(
        selector,
        """els => els.map(e => ({id: e.dataset.segmentId, speaker: e.dataset.speaker,
                name: e.querySelector('.caption-speaker').textContent, text: e.querySelector('.caption-text').textContent}))""",
    )


async def wait_for_finals(page: Page, count: int, speaker: str | None = None, timeout_s: float = 150) -> list[dict[str, str]]:
    deadline = time.monotonic() + timeout_s
    found: list[dict[str, str]] = []
    while time.monotonic() < deadline:
        found = await finals(page, speaker)
        if len(found) >= count:
            return found
        await page.wait_for_timeout(500)
    raise AssertionError(f"{len(found)} of {count} final captions for {speaker or 'anyone'} arrived: {found}")


# Records every state a caption element passes through (partial → final), from the page itself.
CAPTION_RECORDER = """
window.__captions = [];
new MutationObserver(() => {
  for (const el of document.querySelectorAll('li.caption')) {
    const entry = {id: el.dataset.segmentId, final: el.dataset.final,
                   text: el.querySelector('.caption-text')?.textContent ?? '', t: performance.now()};
    const last = window.__captions.findLast(c => c.id === entry.id);
    if (!last || last.final !== entry.final || last.text !== entry.text) window.__captions.push(entry);
  }
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-final']});
"""

# Records the upload page's progress bar: phase, stage and value at every change.
PROGRESS_RECORDER = """
window.__progress = [];
new MutationObserver(() => {
  const bar = document.getElementById('upload-progress');
  if (!bar) return;
  const entry = {phase: bar.dataset.phase, stage: bar.dataset.stage, value: Number(bar.getAttribute('value'))};
  const last = window.__progress[window.__progress.length - 1];
  if (!last || last.value !== entry.value || last.stage !== entry.stage) window.__progress.push(entry);
}).observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ['value', 'data-stage']});
"""


async def keep_evidence(tmp_path: Path, pages: dict[str, Page]) -> None:
    """After a failure: a screenshot and the visible text of each page, for the report."""
    for name, page in pages.items():
        try:
            keep_screenshot(await page.screenshot(full_page=True), tmp_path, f"failed-{name}.png")
            print(f"--- {name} page ({page.url}) ---\n{await page.inner_text('body')}")
        except Exception as exc:  # the page may be gone
            print(f"--- {name} page: no evidence ({exc})")


def keep_screenshot(png: bytes, tmp_path: Path, name: str) -> Path:
    (tmp_path / name).write_bytes(png)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp_path / name, ARTIFACTS / name)
    return ARTIFACTS / name


# --- serving: the app at /, the API untouched ---------------------------------------------------


@pytest.mark.service
async def test_the_app_is_served_without_shadowing_the_api(services: ServiceFactory, redis_url: str, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>app</title>")
    (dist / "assets" / "index-abc.js").write_text("console.log(1)")
    (dist / "favicon.svg").write_text("<svg/>")
    (dist / ".build-stamp").write_text("hash")
    env = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/db.sqlite",
        "WEB_DIST_DIR": str(dist),
        "AUTH_SUPABASE_URL": "https://project.supabase.co",
        "AUTH_SUPABASE_ANON_KEY": "public-anon-key",
    }
    api = await asyncio.to_thread(services.start, "api_service", "API_PORT", env, "api-web-serving")
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        for page in ("/", "/sessions/abc", "/join/abc?code=x", "/devices"):
            response = await client.get(page)
            assert response.status_code == 200 and "<title>app</title>" in response.text, page
            assert response.headers["cache-control"] == "no-cache"
        asset = await client.get("/assets/index-abc.js")
        assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
        assert (await client.get("/favicon.svg")).text == "<svg/>"
        assert (await client.get("/missing.js")).status_code == 404
        assert (await client.get("/.build-stamp")).status_code == 404
        assert (await client.get("/%2e%2e/%2e%2e/pyproject.toml")).status_code == 404
        # The API's own paths are never the app.
        assert (await client.get("/api/v1/nope")).json() == {"detail": "Not Found"}
        assert (await client.get("/api/v1/sessions/")).status_code == 401
        assert (await client.post("/api/v1/auth/me")).status_code == 405
        assert (await client.get("/internal/v1/nope")).status_code == 404
        assert "swagger" in (await client.get("/docs")).text.lower()
        assert (await client.get("/openapi.json")).json()["info"]["title"] == "Intrascribe api"
        assert (await client.get("/health")).json()["service"] == "api"
        assert "http_requests_total" in (await client.get("/metrics")).text
        config = (await client.get("/api/v1/config")).json()["auth"]
        assert config == {
            "provider": "supabase",
            "supabase_url": "https://project.supabase.co",
            "supabase_anon_key": "public-anon-key",
        }
        # A first visit loads several things at once: a new user's row is made once, not a 500.
        first = {"Authorization": f"Bearer {user_token(services.keys.auth_jwt_secret, uuid.uuid4().hex, 'new@example.com')}"}
        answers = await asyncio.gather(*(client.get("/api/v1/auth/me", headers=first) for _ in range(20)))
        assert [a.status_code for a in answers] == [200] * 20
        # Without a build the API still runs, and / says how to make one.
        (dist / "index.html").unlink()
        unbuilt = await client.get("/")
        assert unbuilt.status_code == 503 and "make setup" in unbuilt.text
        assert (await client.get("/health")).status_code == 200


# --- sign-in and sessions ------------------------------------------------------------------------


async def test_sign_up_sign_in_language_and_search(stack: Servers, web_dist: Path, playwright: Playwright) -> None:
    base = stack.url("api")
    email, password = f"web-{uuid.uuid4().hex[:8]}@example.com", "correct horse battery"
    browser = await launch(playwright)
    try:
        context = await browser.new_context(base_url=base)
        context.set_default_timeout(30_000)
        page = await context.new_page()
        await page.goto("/")
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await page.get_by_role("button", name="Create an account").click()
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Create account").click()
        await expect(page.get_by_role("heading", name="Your sessions")).to_be_visible()
        await expect(page.locator(".who")).to_have_text(email)

        # Signed out, a wrong password is refused with the API's reason; the right one works.
        await page.get_by_role("button", name="Sign out").click()
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill("wrong password")
        await page.get_by_role("button", name="Sign in", exact=True).click()
        await expect(page.get_by_role("alert")).to_contain_text("wrong email or password")
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Sign in", exact=True).click()
        await expect(page.get_by_role("heading", name="Your sessions")).to_be_visible()

        # Sessions: listed newest first, searched by title, opened.
        token = await page.evaluate("JSON.parse(localStorage.getItem('intrascribe.auth')).token")
        auth = {"Authorization": f"Bearer {token}"}
        for title in ("Budget review", "Hiring plan"):
            assert (await call("POST", f"{base}/api/v1/sessions/", json={"title": title}, headers=auth)).status_code == 201
        await page.reload()
        await expect(page.locator(".session-title")).to_have_text(["Hiring plan", "Budget review"])
        await expect(page.get_by_text("2 sessions", exact=True)).to_be_visible()
        await page.get_by_placeholder("Search titles and transcripts").fill("hiring")
        await expect(page.locator(".session-title")).to_have_text(["Hiring plan"])
        await expect(page.get_by_text("1 session", exact=True)).to_be_visible()  # not "1 sessions"
        await page.locator(".session-link").first.click()
        await expect(page.get_by_role("heading", name="Hiring plan")).to_be_visible()
        assert "/sessions/" in page.url

        # The top menu marks the page being shown, whichever way it was reached.
        menu = page.get_by_role("navigation")
        await menu.get_by_role("link", name="Templates").click()
        await expect(menu.get_by_role("link", name="Templates")).to_have_attribute("aria-current", "page")
        await expect(menu.locator("[aria-current]")).to_have_count(1)
        await menu.get_by_role("link", name="Sessions").click()
        await expect(menu.get_by_role("link", name="Sessions")).to_have_attribute("aria-current", "page")
        await expect(menu.locator("[aria-current]")).to_have_count(1)

        # A session page left open follows its meeting to the end without a reload.
        started = (await call("POST", f"{base}/api/v1/sessions/", json={"title": "Standup"}, headers=auth)).json()
        await page.goto(f"/sessions/{started['id']}")
        await expect(page.get_by_role("link", name="Join the meeting")).to_be_visible()
        for status in ("live", "completed"):
            changed = await call("PATCH", f"{base}/api/v1/sessions/{started['id']}", json={"status": status}, headers=auth)
            assert changed.status_code == 200, changed.text
            await expect(page.locator(".session-meta .badge").first).to_have_text(status, timeout=10_000)
        await expect(page.get_by_role("link", name="Join the meeting")).to_have_count(0)

        # Chinese UI, remembered across a reload; then back to English.
        await page.get_by_label("Language").select_option("zh")
        await expect(page.get_by_role("navigation").get_by_role("link", name="会话")).to_be_visible()
        await page.reload()
        await expect(page.get_by_role("button", name="退出登录")).to_be_visible()
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"
        await page.get_by_label("语言").select_option("en")
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()

        # Keyboard: the skip link is the first stop and leads to the page's content.
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.className") == "skip-link"
    finally:
        await browser.close()


# --- live meetings ---------------------------------------------------------------------------


async def test_live_meeting_shows_captions_from_the_browser_microphone(
    stack: Servers, web_dist: Path, playwright: Playwright, tmp_path: Path
) -> None:
    """Chromium's fake microphone speaks two known sentences: provisional captions turn into
    finals that match the text, labelled with the speaker's name; the meeting page is kept as a
    screenshot; after leaving, the stored transcript is on the session page."""
    utterances = fake_mic_wav(tmp_path / "alice.wav", list(ENGLISH[:2]), lead_s=4.0)
    browser = await launch(playwright, tmp_path / "alice.wav")
    pages: dict[str, Page] = {}
    try:
        token = stack.user_token("web-alice", "alice@example.com")
        _, page = await signed_in_page(browser, stack.url("api"), token, "alice@example.com", "/meeting", CAPTION_RECORDER)
        pages["alice"] = page
        await page.get_by_label("Title").fill("Web standup")
        await page.get_by_label("Spoken language").select_option("en")
        await page.get_by_label("Your name").fill("Alice")
        await page.get_by_role("button", name="Start meeting").click()
        await expect(page.locator("[data-state='connected']")).to_be_visible(timeout=60_000)
        people = page.locator(".people li")
        await expect(people.filter(has_text="Alice")).to_contain_text("you")
        await expect(page.locator(".people li[data-agent='true']")).to_have_text(re.compile("Transcriber"), timeout=SLOW)
        invite = await page.get_by_label("Anyone with this link can join after signing in.").input_value()
        assert "/join/" in invite and "?code=" in invite

        got = await wait_for_finals(page, 2, speaker="user-web-alice")
        hypothesis = " ".join(f["text"] for f in got[:2])
        assert wer(" ".join(u.text for u in utterances), hypothesis) <= 0.3, hypothesis
        assert {f["name"] for f in got} == {"Alice"}
        # Each final replaced a provisional caption with the same segment id, shown earlier.
        history = await page.evaluate("window.__captions")
        for final in got[:2]:
            states = [c for c in history if c["id"] == final["id"]]
            assert states[0]["final"] == "false" and states[-1]["final"] == "true", states
        assert await page.locator("li.caption.partial").count() <= 1  # none left behind (one may be in progress)
        assert await page.locator("[aria-live='polite']", has_text="Alice:").count() == 1  # finals announced

        shot = keep_screenshot(await page.screenshot(full_page=True), tmp_path, "meeting.png")
        assert shot.stat().st_size > 10_000
        await page.set_viewport_size({"width": 390, "height": 844})  # a phone
        keep_screenshot(await page.screenshot(full_page=True), tmp_path, "meeting-phone.png")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
        await page.set_viewport_size({"width": 1280, "height": 860})

        await page.get_by_role("button", name="Leave meeting").click()
        await expect(page.get_by_role("status")).to_have_text("You left the meeting.")
        await page.get_by_role("link", name="Open the transcript").click()
        lines = page.locator("ol.transcript li")
        await expect(lines).to_have_count(2, timeout=30_000)
        stored = await lines.locator(".line-text").all_text_contents()
        assert [s.strip() for s in stored] == [f["text"].strip() for f in got[:2]]
    except BaseException:
        await keep_evidence(tmp_path, pages)
        raise
    finally:
        await browser.close()


async def test_two_browsers_in_one_room_get_captions_for_both_speakers(
    stack: Servers, web_dist: Path, playwright: Playwright, tmp_path: Path
) -> None:
    """Alice starts a meeting, Bob joins with her invite link from another browser; each fake
    microphone says its own sentence, and Alice's page shows both, each under its speaker."""
    alice_said = fake_mic_wav(tmp_path / "alice.wav", [ENGLISH[0]], lead_s=3.0)
    bob_said = fake_mic_wav(tmp_path / "bob.wav", [ENGLISH[2]], lead_s=4.0)
    alice_browser = await launch(playwright, tmp_path / "alice.wav")
    bob_browser = await launch(playwright, tmp_path / "bob.wav")
    pages: dict[str, Page] = {}
    try:
        _, alice = await signed_in_page(
            alice_browser, stack.url("api"), stack.user_token("room-alice", "ra@example.com"), "ra@example.com", "/meeting"
        )
        pages["alice"] = alice
        await alice.get_by_label("Your name").fill("Alice")
        await alice.get_by_role("button", name="Start meeting").click()
        invite = alice.get_by_label("Anyone with this link can join after signing in.")
        await expect(invite).to_have_value(INVITE_LINK, timeout=60_000)
        link = await invite.input_value()

        _, bob = await signed_in_page(
            bob_browser, stack.url("api"), stack.user_token("room-bob", "rb@example.com"), "rb@example.com", link
        )
        pages["bob"] = bob
        await expect(bob.get_by_role("heading", name="Join a meeting")).to_be_visible()
        await bob.get_by_label("Your name").fill("Bob")
        await bob.get_by_role("button", name="Join meeting").click()
        await expect(bob.locator("[data-state='connected']")).to_be_visible(timeout=60_000)
        await expect(alice.locator(".people li").filter(has_text="Bob")).to_have_count(1, timeout=30_000)

        from_alice = await wait_for_finals(alice, 1, speaker="user-room-alice")
        from_bob = await wait_for_finals(alice, 1, speaker="user-room-bob")
        assert from_alice[0]["name"] == "Alice" and from_bob[0]["name"] == "Bob"
        assert wer(alice_said[0].text, from_alice[0]["text"]) <= 0.3, from_alice
        assert wer(bob_said[0].text, from_bob[0]["text"]) <= 0.3, from_bob
        # Bob sees his own captions too, under his name.
        assert (await wait_for_finals(bob, 1, speaker="user-room-bob"))[0]["name"] == "Bob"
        keep_screenshot(await alice.screenshot(full_page=True), tmp_path, "meeting-two-speakers.png")
    except BaseException:
        await keep_evidence(tmp_path, pages)
        raise
    finally:
        await bob_browser.close()
        await alice_browser.close()


# --- the meeting assistant: catch me up, and questions about the meeting ---------------------------

# What was said in a meeting (the assistant tests' lines); speaker names as the agent sends them.
MEETING_SAID = [
    {
        "segment_id": "said-1",
        "speaker": "user-alice",
        "speaker_name": "Alice",
        "start_ms": 1_000,
        "end_ms": 4_000,
        "text": "The quarterly budget review is on Thursday.",
    },
    {
        "segment_id": "said-2",
        "speaker": "user-bob",
        "speaker_name": "Bob",
        "start_ms": 70_000,
        "end_ms": 73_000,
        "text": "I will send the report by Friday.",
    },
    {
        "segment_id": "said-3",
        "speaker": "user-carol",
        "speaker_name": "Carol",
        "start_ms": 74_000,
        "end_ms": 78_000,
        "text": "We agreed to move the launch to March.",
    },
    {
        "segment_id": "said-4",
        "speaker": "user-alice",
        "speaker_name": "Alice",
        "start_ms": 79_000,
        "end_ms": 81_000,
        "text": "Who owns the pricing page?",
    },
]


def silent_mic(path: Path, seconds: float = 5.0) -> Path:
    """A fake microphone that says nothing (48 kHz 16-bit mono, as Chromium wants it)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48_000)
        out.writeframes(bytes(int(seconds * 48_000) * 2))
    return path


async def chips(item: Any) -> list[str]:
    return [c.strip() for c in await item.locator(".chip").all_text_contents()]


async def test_catch_me_up_and_ask_on_the_live_meeting_page(
    stack: Servers, web_dist: Path, playwright: Playwright, tmp_path: Path
) -> None:
    """Issue 18 §1: the owner comes back to a meeting that has been going on for a while. "Catch
    me up" shows what was discussed, decided and left open, each with its "[mm:ss] Speaker"
    citations, from the start or from when they joined; a question is answered from the
    transcript so far. No model is configured in the stack: the brief is sentences of the
    transcript and the answer the matching passages, each saying so."""
    assert stack.secrets is not None
    api = stack.url("api")
    token = stack.user_token("web-catch-up", "catchup@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    created = await call("POST", f"{api}/api/v1/sessions/", json={"title": "Launch sync", "language": "en"}, headers=auth)
    sid = created.json()["id"]
    live = await call("PATCH", f"{api}/api/v1/sessions/{sid}", json={"status": "live"}, headers=auth)
    assert live.status_code == 200 and live.json()["started_at"], live.text
    agent = service_header("agent", stack.secrets.service_keys)
    stored = await call("POST", f"{api}/internal/v1/sessions/{sid}/segments", json={"segments": MEETING_SAID}, headers=agent)
    assert stored.status_code == 200, stored.text
    await asyncio.sleep(6)  # the owner joins a few seconds into the meeting

    browser = await launch(playwright, silent_mic(tmp_path / "quiet.wav"))
    pages: dict[str, Page] = {}
    try:
        _, page = await signed_in_page(browser, api, token, "catchup@example.com", f"/join/{sid}")
        pages["owner"] = page
        await page.get_by_label("Your name").fill("Dana")
        await page.get_by_role("button", name="Join meeting").click()
        await expect(page.locator("[data-state='connected']")).to_be_visible(timeout=60_000)

        panel = page.locator("section.catch-up")
        # Joined a while in: catching up from the start, or from then.
        await expect(panel.get_by_role("radio", name="The start of the meeting")).to_be_checked()
        joined = panel.get_by_role("radio", name=re.compile(r"When I joined \(00:\d\d\)"))
        await expect(joined).not_to_be_checked()
        await panel.get_by_role("button", name="Catch me up").click()
        await expect(panel.get_by_role("status")).to_have_text("The catch-up is ready.", timeout=30_000)
        await expect(panel.locator(".brief-note")).to_have_text(
            "No language model is configured: these are sentences taken from the transcript."
        )
        await expect(panel.locator(".brief")).to_contain_text("Since the start of the meeting")
        for heading in ("Discussed", "Decisions", "Open questions"):
            await expect(panel.get_by_role("heading", name=heading, level=3)).to_be_visible()
        discussed = panel.locator("[data-part='discussed'] li")
        await expect(discussed).to_have_count(1)
        await expect(discussed.locator(".brief-text")).to_have_text("The quarterly budget review is on Thursday.")
        assert await chips(discussed) == ["[00:01] Alice"]
        decisions = panel.locator("[data-part='decisions'] li")
        await expect(decisions.locator(".brief-text")).to_have_text(
            ["I will send the report by Friday.", "We agreed to move the launch to March."]
        )
        assert await chips(decisions.nth(0)) == ["[01:10] Bob"]
        assert await chips(decisions.nth(1)) == ["[01:14] Carol"]
        questions = panel.locator("[data-part='open_questions'] li")
        await expect(questions.locator(".brief-text")).to_have_text(["Who owns the pricing page?"])
        assert await chips(questions) == ["[01:19] Alice"]
        assert await panel.locator("button.chip").count() == 0  # no player on the live page: they just show

        # From when I joined: what was said before then is left out.
        await joined.check()
        await panel.get_by_role("button", name="Catch me up again").click()
        await expect(panel.locator(".brief")).to_contain_text(re.compile(r"Since 00:\d\d"), timeout=30_000)
        await expect(panel.locator("[data-part='discussed']")).to_contain_text("None so far.")
        await expect(panel.locator("[data-part='decisions'] li")).to_have_count(2)

        # A question, answered from the transcript so far: the matching passage, cited.
        ask = page.locator("section.assistant")
        await ask.get_by_label("Your question").fill("Who will send the report?")
        await ask.get_by_label("Your question").press("Enter")  # the keyboard is enough
        turn = ask.locator("li.turn")
        await expect(turn).to_have_attribute("data-state", "done", timeout=30_000)
        await expect(turn.locator(".turn-question")).to_contain_text("Who will send the report?")
        await expect(turn.locator(".answer-note")).to_have_text("No language model is configured: showing the matching passages.")
        first = turn.locator(".citations li").first
        await expect(first.locator(".cite-text")).to_have_text("I will send the report by Friday.")
        assert await chips(first) == ["[01:10] Bob"]
        await expect(turn.locator(".turn-answer")).to_have_attribute("aria-live", "polite")
        await expect(ask.get_by_label("Your question")).to_have_value("")
        keep_screenshot(await page.screenshot(full_page=True), tmp_path, "meeting-catch-up.png")
        await page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing wider than the screen
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await page.set_viewport_size({"width": 1280, "height": 860})

        # The same in Chinese.
        await page.get_by_label("Language").select_option("zh")
        await expect(panel.get_by_role("heading", name="决定", level=3)).to_be_visible()
        await expect(ask.get_by_role("button", name="提问")).to_be_visible()
        await page.get_by_label("语言").select_option("en")
    except BaseException:
        await keep_evidence(tmp_path, pages)
        raise
    finally:
        await browser.close()


# --- uploads, transcript playback, speakers, devices ----------------------------------------------


async def test_upload_shows_progress_then_a_transcript_that_plays_in_sync(
    stack: Servers, web_dist: Path, playwright: Playwright, tmp_path: Path
) -> None:
    audio, turns = meeting(2, 4, seed=5)
    recording = tmp_path / "standup.wav"
    recording.write_bytes(wav_bytes(audio))
    browser = await launch(playwright)
    try:
        token = stack.user_token("web-uploader", "uploader@example.com")
        auth = {"Authorization": f"Bearer {token}"}
        context, page = await signed_in_page(
            browser, stack.url("api"), token, "uploader@example.com", "/upload", PROGRESS_RECORDER
        )
        # A slow uplink, so the upload itself takes a few seconds and reports progress as it goes.
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.enable")
        await cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": recording.stat().st_size / 3},
        )
        await page.get_by_label("Audio or video file").set_input_files(str(recording))
        await page.get_by_label("Title").fill("Uploaded standup")
        await page.get_by_label("Spoken language").select_option("en")
        await page.get_by_label("Number of speakers").fill("2")
        await page.get_by_role("button", name="Upload and transcribe").click()
        await expect(page.locator("#upload-progress")).to_be_visible()
        await page.wait_for_url("**/sessions/*", timeout=240_000)
        await cdp.send(
            "Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
        )

        progress = await page.evaluate("window.__progress")
        print("progress bar states:", progress)
        values = [p["value"] for p in progress]
        assert values == sorted(values), progress  # it only ever moves forward
        assert any(0 < p["value"] < 20 for p in progress if p["phase"] == "uploading"), progress  # real upload progress
        stages = {p["stage"] for p in progress if p["phase"] == "processing"}
        assert "transcribe" in stages or "align" in stages, progress  # then the job's stages

        await expect(page.get_by_role("heading", name="Uploaded standup")).to_be_visible()
        lines = page.locator("ol.transcript li")
        await expect(lines.first).to_be_visible(timeout=30_000)
        texts = await lines.locator(".line-text").all_text_contents()
        assert wer(" ".join(t.text for t in turns), " ".join(texts)) <= 0.25, texts
        speakers = await lines.evaluate_all("els => els.map(e => e.dataset.speaker)")
        assert len(set(speakers)) == 2, speakers

        # Click a line: the audio plays from there and that line is highlighted while it plays.
        player = page.locator("audio")
        await expect(player).to_have_attribute("src", BLOB_URL, timeout=30_000)
        target = lines.nth(len(texts) - 1)
        segment_id = await target.get_attribute("data-segment-id")
        transcript = (
            await call("GET", f"{stack.url('api')}/api/v1/sessions/{page.url.rsplit('/', 1)[-1]}/transcript", headers=auth)
        ).json()
        start_s = next(s["start_ms"] for s in transcript["segments"] if s["segment_id"] == segment_id) / 1000
        await target.get_by_role("button").click()
        await expect(page.locator(f"ol.transcript li[data-segment-id='{segment_id}']")).to_have_attribute(
            "aria-current", "true", timeout=15_000
        )
        position = await player.evaluate("a => a.currentTime")
        assert start_s <= position <= start_s + 10, (position, start_s)  # it played from the clicked line
        assert await page.locator("ol.transcript li[aria-current='true']").count() == 1

        # Rename a speaker: every line of theirs shows the new name.
        first_label = speakers[0]
        await page.locator(f".speakers li[data-label='{first_label}'] input").fill("Carol")
        await page.locator(f".speakers li[data-label='{first_label}']").get_by_role("button", name="Rename").click()
        await expect(page.locator(f"ol.transcript li[data-speaker='{first_label}'] .line-speaker").first).to_have_text("Carol")
        assert set(await page.locator(f"ol.transcript li[data-speaker='{first_label}'] .line-speaker").all_text_contents()) == {
            "Carol"
        }

        # Merge the other speaker into Carol: asked first, then undone from the notice.
        other = next(label for label in speakers if label != first_label)
        lines_of_other = await page.locator(f"ol.transcript li[data-speaker='{other}']").count()
        asked: list[str] = []

        async def answer(dialog: Any) -> None:
            asked.append(dialog.message)
            await dialog.accept()

        page.once("dialog", answer)
        await page.get_by_label("Merge", exact=True).select_option(other)
        await page.get_by_label("into").select_option(first_label)
        await page.locator("form.merge").get_by_role("button", name="Merge").click()
        await expect(page.locator(f"ol.transcript li[data-speaker='{other}']")).to_have_count(0)
        assert asked and "Carol" in asked[0], asked
        await page.get_by_role("status").get_by_role("button", name="Undo").click()
        await expect(page.locator(f"ol.transcript li[data-speaker='{other}']")).to_have_count(lines_of_other)
        await expect(page.locator(f".speakers li[data-label='{other}']")).to_have_count(1)
    finally:
        await browser.close()


async def test_a_recording_without_speech_says_so(stack: Servers, web_dist: Path, playwright: Playwright, tmp_path: Path) -> None:
    """Issue 20 §2: a 0.2 s clip is refused on the upload page with a sentence that says why; three
    seconds of silence are transcribed to nothing, and the session page says no speech was found,
    not that there is no transcript yet."""
    browser = await launch(playwright)
    try:
        token = stack.user_token("web-silent-uploader", "silent@example.com")
        _context, page = await signed_in_page(browser, stack.url("api"), token, "silent@example.com", "/upload")
        for seconds in (0.2, 3.0):
            clip = tmp_path / f"quiet-{seconds}.wav"
            clip.write_bytes(wav_bytes(silence(seconds)))
            await page.get_by_label("Audio or video file").set_input_files(str(clip))
            await page.get_by_role("button", name="Upload and transcribe").click()
            if seconds < 0.5:  # MIN_AUDIO_SECONDS
                await expect(page.get_by_text("No speech found: the recording is 0.2 s long")).to_be_visible(timeout=30_000)
                keep_screenshot(await page.screenshot(full_page=True), tmp_path, "no-speech-upload.png")
        await page.wait_for_url("**/sessions/*", timeout=120_000)
        await expect(page.get_by_text("No speech was found in this recording.")).to_be_visible(timeout=30_000)
        await expect(page.get_by_text("No transcript yet.")).to_have_count(0)
        keep_screenshot(await page.screenshot(full_page=True), tmp_path, "no-speech-session.png")
    finally:
        await browser.close()


async def test_devices_are_registered_with_a_token_shown_once_and_show_online(
    stack: Servers, web_dist: Path, playwright: Playwright
) -> None:
    browser = await launch(playwright)
    try:
        token = stack.user_token("web-devices", "devices@example.com")
        _, page = await signed_in_page(browser, stack.url("api"), token, "devices@example.com", "/devices")
        await page.get_by_label("Device name").fill("Room 7 mic")
        await page.get_by_role("button", name="Register device").click()
        device_token = await page.locator("#device-token").input_value()
        assert device_token.startswith("isd_")
        item = page.locator(".device-list li", has_text="Room 7 mic")
        await expect(item).to_have_attribute("data-state", "offline")
        # The device connects with its token; the list shows it online.
        joined = await call(
            "POST",
            f"{stack.url('api')}/api/v1/devices/connection-details",
            headers={"Authorization": f"Bearer {device_token}"},
            timeout=30,
        )
        assert joined.status_code == 200, joined.text
        await page.reload()
        await expect(page.locator("#device-token")).to_have_count(0)  # shown once only
        await expect(item).to_have_attribute("data-state", "online")
        page.once("dialog", lambda dialog: dialog.accept())
        await item.get_by_role("button", name="Revoke").click()
        await expect(item).to_have_attribute("data-state", "revoked")
    finally:
        await browser.close()


async def test_redaction_is_set_as_a_default_and_on_a_session_which_hides_what_it_stored(
    stack: Servers, web_dist: Path, playwright: Playwright
) -> None:
    """The Redaction page keeps the user's default (kinds, own terms; a term that cannot be used is
    refused with the API's sentence); on a session's page, turning redaction on hides what the
    session had already stored."""
    api = stack.url("api")
    token = stack.user_token("web-redaction", "redaction@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    browser = await launch(playwright)
    try:
        _, page = await signed_in_page(browser, api, token, "redaction@example.com", "/redaction")
        switch = page.get_by_label("Hide personal data in captions and transcripts")
        await expect(switch).not_to_be_checked()
        await switch.check()
        await page.get_by_label("Card numbers").uncheck()
        terms = page.get_by_label("Your own words to hide (one per line)")
        await terms.fill("***")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("alert")).to_contain_text("Redaction term 1 ('***') has no letters or digits.")
        await terms.fill("Project Falcon\nOkonkwo, okonkwo")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("Saved.")
        default = (await call("GET", f"{api}/api/v1/me/redaction", headers=auth)).json()
        assert default == {"enabled": True, "kinds": ["email", "phone", "account"], "terms": ["Project Falcon", "Okonkwo"]}

        created = await call(
            "POST", f"{api}/api/v1/sessions/", json={"title": "Said a number", "redaction": {"enabled": False}}, headers=auth
        )
        sid = created.json()["id"]
        said = {
            "segment_id": "r1",
            "speaker": "user-web",
            "start_ms": 0,
            "end_ms": 3000,
            "text": "Call me at 415 555 0132 please.",
        }
        assert stack.secrets is not None
        agent = service_header("agent", stack.secrets.service_keys)
        stored = await call("POST", f"{api}/internal/v1/sessions/{sid}/segments", json={"segments": [said]}, headers=agent)
        assert stored.status_code == 200, stored.text
        await page.goto(f"/sessions/{sid}")
        await expect(page.get_by_text("Call me at 415 555 0132 please.")).to_be_visible()
        panel = page.locator("section", has=page.locator("#redaction-heading"))
        await expect(panel.locator("h2")).to_have_text("Redaction: off")
        await panel.locator("summary").click()
        await panel.get_by_label("Hide personal data in captions and transcripts").check()
        await panel.get_by_role("button", name="Save").click()
        await expect(panel.locator("h2")).to_have_text("Redaction: on")
        await expect(page.get_by_text("Call me at [phone] please.")).to_be_visible()
        await expect(page.get_by_text("415 555 0132")).to_have_count(0)
    finally:
        await browser.close()


# --- Supabase Auth ---------------------------------------------------------------------------


class FakeSupabaseAuth:
    """Supabase Auth's password grant and logout, as the browser's auth-js client calls them
    (cross-origin, so with CORS); issues Supabase-shaped JWTs signed with the API's secret."""

    PASSWORD = "supabase password"  # noqa: S105 - the test account's password

    def __init__(self, jwt_secret: str) -> None:
        self.requests: list[dict[str, Any]] = []
        app = FastAPI()
        app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])

        @app.post("/auth/v1/token")
        async def token(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append({"query": dict(request.query_params), "apikey": request.headers.get("apikey"), **body})
            if body.get("password") != self.PASSWORD:
                return JSONResponse({"error": "invalid_grant", "error_description": "Invalid login credentials"}, 400)
            user = {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, body["email"])), "email": body["email"], "aud": "authenticated"}
            access = user_token(jwt_secret, user["id"], body["email"])
            return JSONResponse(
                {"access_token": access, "token_type": "bearer", "expires_in": 3600, "refresh_token": "r-1", "user": user}
            )

        @app.post("/auth/v1/logout")
        async def logout() -> Response:
            return Response(status_code=204)

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> FakeSupabaseAuth:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)


@pytest.mark.service
async def test_sign_in_through_supabase_auth_when_configured(
    services: ServiceFactory, redis_url: str, web_dist: Path, playwright: Playwright, tmp_path: Path
) -> None:
    with FakeSupabaseAuth(services.keys.auth_jwt_secret) as supabase:
        env = {
            "REDIS_URL": redis_url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/db.sqlite",
            "WEB_DIST_DIR": str(web_dist),
            "AUTH_SUPABASE_URL": f"http://127.0.0.1:{supabase.port}",
            "AUTH_SUPABASE_ANON_KEY": "anon-public-key",
        }
        api = await asyncio.to_thread(services.start, "api_service", "API_PORT", env, "api-web-supabase")
        browser = await launch(playwright)
        try:
            context = await browser.new_context(base_url=api)
            context.set_default_timeout(30_000)
            page = await context.new_page()
            await page.goto("/")
            await expect(page.get_by_text("You sign in with the organisation's Supabase account.")).to_be_visible()
            await page.get_by_label("Email").fill("sb@example.com")
            await page.get_by_label("Password").fill("not the password")
            await page.get_by_role("button", name="Sign in", exact=True).click()
            await expect(page.get_by_role("alert")).to_contain_text("Invalid login credentials")
            await page.get_by_label("Password").fill(FakeSupabaseAuth.PASSWORD)
            await page.get_by_role("button", name="Sign in", exact=True).click()
            await expect(page.get_by_role("heading", name="Your sessions")).to_be_visible()  # the API took Supabase's token
            await expect(page.locator(".who")).to_have_text("sb@example.com")
            assert supabase.requests[-1]["query"] == {"grant_type": "password"}
            assert supabase.requests[-1]["apikey"] == "anon-public-key"
            assert await page.evaluate("localStorage.getItem('intrascribe.auth')") is None  # not the local accounts' store
            await page.reload()  # the Supabase session is kept
            await expect(page.get_by_role("heading", name="Your sessions")).to_be_visible()
        finally:
            await browser.close()


# --- summaries, titles, exports, templates (an API with the test LLM) --------------------------


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture(scope="module")
def llm_api(
    services: ServiceFactory, redis_url: str, llm: FakeLLM, web_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> str:
    workdir = tmp_path_factory.mktemp("web-llm-api")
    (workdir / "llm.yaml").write_text(
        yaml.safe_dump({"models": [{"model": "openai/good", "api_base": llm.url, "api_key_env": "PATH", "max_retries": 0}]})
    )
    env = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/db.sqlite",
        "LLM_CONFIG_FILE": str(workdir / "llm.yaml"),
        "WEB_DIST_DIR": str(web_dist),
    }
    return services.start("api_service", "API_PORT", env, name="api-web-llm")


SEGMENTS = [
    {
        "segment_id": "w-1",
        "speaker": "user-alice",
        "start_ms": 1_000,
        "end_ms": 4_000,
        "text": "The budget review is on Thursday.",
    },
    {"segment_id": "w-2", "speaker": "user-bob", "start_ms": 5_000, "end_ms": 8_000, "text": "I will send the report by Friday."},
]


async def test_summary_title_exports_and_templates(
    llm_api: str, llm: FakeLLM, services: ServiceFactory, playwright: Playwright, tmp_path: Path
) -> None:
    token = user_token(services.keys.auth_jwt_secret, "web-summary", "summary@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    created = await call("POST", f"{llm_api}/api/v1/sessions/", json={"title": "Budget", "language": "en"}, headers=auth)
    sid = created.json()["id"]
    stored = await call(
        "POST", f"{llm_api}/internal/v1/sessions/{sid}/segments", json={"segments": SEGMENTS}, headers=services.headers("agent")
    )
    assert stored.status_code == 200, stored.text

    assert (await call("GET", f"{llm_api}/api/v1/config")).json()["auth"]["provider"] == "local"
    browser = await launch(playwright)
    try:
        context, page = await signed_in_page(browser, llm_api, token, "summary@example.com", "/templates")
        await context.grant_permissions(["clipboard-read", "clipboard-write"])

        # A template of one's own, with a section; it is offered for summaries.
        await page.get_by_role("button", name="New template").click()
        await page.get_by_label("Name", exact=True).fill("Budget notes")
        await page.get_by_label("Section title").fill("Money")
        await page.get_by_label("Instruction").fill("List every amount mentioned")
        await page.get_by_label("Format").select_option("bullets")
        await page.get_by_role("button", name="Save").click()
        mine = page.locator(".template-list").first.locator("li.card")
        await expect(mine).to_have_count(1)
        await expect(mine).to_contain_text("Budget notes")
        await expect(mine).to_contain_text("Money — bullets")

        await page.goto(f"/sessions/{sid}")
        await expect(page.locator("ol.transcript li")).to_have_count(2)
        await page.get_by_label("Summary template").select_option(label="Budget notes (en)")
        before = len(llm.requests)
        await page.get_by_role("button", name="Generate summary").click()
        summary = page.get_by_label("Summary (Markdown, editable)")
        await expect(summary).to_have_value(re.compile("Send the report"), timeout=60_000)
        await expect(page.locator(".summary [data-model]")).to_have_attribute("data-model", "openai/good")
        prompt = "\n".join(m["content"] for m in llm.requests[before]["messages"])
        assert "The budget review is on Thursday." in prompt and '"Money"' in prompt  # the transcript and the chosen template

        # Edited, copied, and saved as a new version: a reload shows the edit, the generated one is kept.
        await summary.fill("# Edited\n\nShip it.")
        await page.locator(".summary").get_by_role("button", name="Copy").click()
        assert await page.evaluate("navigator.clipboard.readText()") == "# Edited\n\nShip it."
        await page.locator(".summary").get_by_role("button", name="Save edits").click()
        await expect(page.locator(".summary [role=status]")).to_have_text("Saved as version 2.")
        await page.reload()
        await expect(summary).to_have_value("# Edited\n\nShip it.")
        await expect(page.locator(".summary [data-model]")).to_have_attribute("data-model", "edited-by-user")
        await expect(page.locator(".summary").get_by_label("Version")).to_contain_text("v1 · openai/good")

        # A suggested title from the model.
        await page.get_by_role("button", name="Suggest a title").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Quarterly budget review")

        keep_screenshot(await page.screenshot(full_page=True), tmp_path, "session.png")
        await page.set_viewport_size({"width": 390, "height": 844})
        keep_screenshot(await page.screenshot(full_page=True), tmp_path, "session-phone.png")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await page.set_viewport_size({"width": 1280, "height": 860})

        # Exports download as files that parse.
        async def export(format_: str) -> bytes:
            async with page.expect_download() as info:
                await page.locator(f"button[data-format='{format_}']").click()
            download = await info.value
            assert download.suggested_filename == f"Quarterly budget review.{format_}"
            return await asyncio.to_thread(Path(await download.path()).read_bytes)

        document = json.loads(await export("json"))
        assert [s["text"] for s in document["segments"]] == [s["text"] for s in SEGMENTS]
        assert document["summary"]["summary"] == "# Edited\n\nShip it."  # the saved edit, the latest version
        srt = (await export("srt")).decode()
        assert srt.startswith("1\n00:00:01,000 --> 00:00:04,000") and "I will send the report by Friday." in srt
        vtt = (await export("vtt")).decode()
        assert vtt.startswith("WEBVTT")
        import docx

        paragraphs = [p.text for p in docx.Document(io.BytesIO(await export("docx"))).paragraphs]
        assert any("The budget review is on Thursday." in p for p in paragraphs), paragraphs
    finally:
        await browser.close()


# Every text the answer of the ask panel shows while it streams in, from the page itself.
ANSWER_RECORDER = """
window.__answer = [];
new MutationObserver(() => {
  const el = document.querySelector('li.turn:last-child .answer-text');
  const text = el ? el.textContent : null;
  if (text && window.__answer[window.__answer.length - 1] !== text) window.__answer.push(text);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


async def test_asking_about_a_finished_meeting_streams_the_answer_and_its_citations_play(
    llm_api: str, llm: FakeLLM, services: ServiceFactory, playwright: Playwright, tmp_path: Path
) -> None:
    """Issue 18 §1 on the session page, with the test model: the answer is written in as the
    model streams it, then cites the line it rests on as "[mm:ss] Speaker" (the invented line it
    also cites is dropped); the citation plays the recording from that moment."""
    token = user_token(services.keys.auth_jwt_secret, "web-ask", "ask@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    sid = (
        await call("POST", f"{llm_api}/api/v1/sessions/", json={"title": "Launch sync", "language": "en"}, headers=auth)
    ).json()["id"]
    agent = services.headers("agent")
    stored = await call("POST", f"{llm_api}/internal/v1/sessions/{sid}/segments", json={"segments": MEETING_SAID}, headers=agent)
    assert stored.status_code == 200, stored.text
    # Bob's recording starts a minute into the meeting: his line at 01:10 is 10 s into it.
    uploaded = await call(
        "POST",
        f"{llm_api}/internal/v1/sessions/{sid}/recordings",
        params={"track": "user-bob", "offset_ms": 60_000},
        content=wav_bytes(silence(30.0)),
        headers={**agent, "Content-Type": "audio/wav"},
        timeout=60,
    )
    assert uploaded.status_code == 201, uploaded.text
    done = await call("POST", f"{llm_api}/internal/v1/sessions/{sid}/status", json={"status": "completed"}, headers=agent)
    assert done.status_code == 200, done.text

    browser = await launch(playwright)
    pages: dict[str, Page] = {}
    try:
        _, page = await signed_in_page(browser, llm_api, token, "ask@example.com", f"/sessions/{sid}", ANSWER_RECORDER)
        pages["session"] = page
        await expect(page.locator("ol.transcript li")).to_have_count(4)
        audio = page.locator("audio")
        await expect(audio).to_have_attribute("src", BLOB_URL, timeout=30_000)

        ask = page.locator("section.assistant")
        await expect(ask.get_by_role("heading", name="Ask about this meeting")).to_be_visible()
        before = len(llm.requests)
        await ask.get_by_label("Your question").fill("Who will send the report?")
        await ask.get_by_role("button", name="Ask", exact=True).click()
        turn = ask.locator("li.turn")
        await expect(turn).to_have_attribute("data-state", "done", timeout=60_000)
        assert llm.requests[before]["stream"] is True  # the model was asked to stream
        answer = turn.locator(".answer-text")
        await expect(answer).to_have_text("Bob said: I will send the report by Friday. [1]")
        await expect(turn.locator(".answer")).to_have_attribute("data-model", "openai/good")
        await expect(turn.locator(".answer-note")).to_have_count(0)
        streamed = await page.evaluate("window.__answer")
        assert streamed[-1] == "Bob said: I will send the report by Friday. [1]", streamed
        partial = [text.removesuffix(" …") for text in streamed[:-1] if text != "Answering…"]
        assert len(partial) >= 3, streamed  # written in as the pieces came, not all at the end
        assert all(streamed[-1].startswith(text) for text in partial), streamed  # and it only grew

        citation = turn.locator(".citations li")
        await expect(citation).to_have_count(1)  # [999] named no line: dropped
        await expect(citation.locator(".cite-text")).to_have_text("I will send the report by Friday.")
        chip = citation.get_by_role("button", name="Play from 01:10 (Bob)")
        await expect(chip).to_have_text("[01:10] Bob")
        await chip.click()
        await page.wait_for_function(
            "() => { const a = document.querySelector('audio'); return a.currentTime >= 9.9 && a.currentTime < 20; }"
        )
        keep_screenshot(await page.screenshot(full_page=True), tmp_path, "session-ask.png")
        await page.set_viewport_size({"width": 390, "height": 844})
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await page.set_viewport_size({"width": 1280, "height": 860})

        # Keyboard only: a second question, typed and sent with Enter; the first answer stays.
        await ask.get_by_label("Your question").focus()
        await page.keyboard.type("When is the launch?")
        await page.keyboard.press("Enter")
        await expect(ask.locator("li.turn")).to_have_count(2)
        await expect(ask.locator("li.turn").nth(1)).to_have_attribute("data-state", "done", timeout=60_000)
        await expect(ask.locator("li.turn").nth(1).locator(".answer-text")).to_contain_text("move the launch to March")
        await expect(ask.locator("li.turn").nth(1).locator(".chip")).to_have_text(["[01:14] Carol"])
    except BaseException:
        await keep_evidence(tmp_path, pages)
        raise
    finally:
        await browser.close()
