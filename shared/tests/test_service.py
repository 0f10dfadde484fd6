"""The service scaffolding over a real uvicorn server: health and readiness, metrics, request ids,
service credentials, and the retrying client."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from devstack.procs import free_port
from shared.clients import ServiceClient, ServiceUnavailable
from shared.service import create_service_app
from shared.service_auth import HEADER, require_service
from shared.settings import ServiceSettings

pytestmark = [pytest.mark.unit]

KEYS = {"api": "api-key-0123456789", "agent": "agent-key-0123456789"}


class Flaky:
    """Fails the first ``failures`` calls with 503, then answers."""

    def __init__(self) -> None:
        self.failures = 0
        self.calls = 0


def build_app(flaky: Flaky, ready: dict[str, bool]) -> FastAPI:
    app = create_service_app(
        name="demo",
        version="9.9",
        settings=ServiceSettings(service_keys=KEYS, intrascribe_env="development"),
        info=lambda: {"engine": "x"},
    )

    async def dependency_check() -> str | None:
        return None if ready["ok"] else "dependency down"

    app.state.health.add_check("dependency", dependency_check)

    @app.get("/flaky")
    async def flaky_route(request: Request) -> dict[str, object]:
        flaky.calls += 1
        if flaky.calls <= flaky.failures:
            return JSONResponse({"detail": "busy"}, status_code=503, headers={"Retry-After": "0"})  # type: ignore[return-value]
        return {"calls": flaky.calls, "request_id": request.headers.get("x-request-id")}

    @app.post("/flaky")
    async def flaky_upload(request: Request) -> dict[str, object]:
        body = await request.body()  # read whole before failing, as a server that fails late would
        flaky.calls += 1
        if flaky.calls <= flaky.failures:
            return JSONResponse({"detail": "busy"}, status_code=503, headers={"Retry-After": "0"})  # type: ignore[return-value]
        return {"calls": flaky.calls, "bytes": len(body), "sum": sum(body)}

    @app.get("/internal")
    async def internal(caller: str = require_service(KEYS)) -> dict[str, str]:
        return {"caller": caller}

    return app


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Flaky, dict[str, bool]]]:
    flaky, ready = Flaky(), {"ok": True}
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(build_app(flaky, ready), host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", flaky, ready
    srv.should_exit = True
    thread.join(5)


def test_health_endpoints_and_info(server: tuple[str, Flaky, dict[str, bool]]) -> None:
    url, _, ready = server
    assert httpx.get(f"{url}/health").json()["status"] == "ok"
    assert httpx.get(f"{url}/health/live").status_code == 200
    assert httpx.get(f"{url}/health/ready").json() == {"ready": True, "service": "demo", "checks": {"dependency": "ok"}}
    ready["ok"] = False
    try:
        response = httpx.get(f"{url}/health/ready")
        assert response.status_code == 503
        assert response.json()["checks"]["dependency"] == "dependency down"
        assert httpx.get(f"{url}/health").status_code == 200  # alive, just not ready
    finally:
        ready["ok"] = True
    assert httpx.get(f"{url}/info").json() == {"service": "demo", "version": "9.9", "engine": "x"}


def test_metrics_count_requests_by_route_template(server: tuple[str, Flaky, dict[str, bool]]) -> None:
    url, _, _ = server
    httpx.get(f"{url}/health")
    httpx.get(f"{url}/no/such/path")
    for n in range(5):  # made-up methods and paths must not each make a new series
        httpx.request(f"BREW{n}", f"{url}/random/{n}")
    text = httpx.get(f"{url}/metrics").text
    assert 'http_requests_total{method="GET",route="/health",status="200"}' in text
    assert 'route="unmatched",status="404"' in text
    assert "BREW" not in text and "/random/" not in text
    assert 'method="other",route="unmatched"' in text
    assert "http_request_duration_seconds_bucket" in text


def test_request_id_is_echoed_or_made(server: tuple[str, Flaky, dict[str, bool]]) -> None:
    url, _, _ = server
    assert httpx.get(f"{url}/health", headers={"X-Request-ID": "abc123"}).headers["x-request-id"] == "abc123"
    assert len(httpx.get(f"{url}/health").headers["x-request-id"]) == 32


@pytest.mark.parametrize(
    "header, status",
    [
        (None, 401),
        ("api:wrong", 401),
        ("nobody:api-key-0123456789", 401),
        ("api-key-0123456789", 401),
        ("agent:agent-key-0123456789", 200),
    ],
)
def test_service_credentials(server: tuple[str, Flaky, dict[str, bool]], header: str | None, status: int) -> None:
    url, _, _ = server
    response = httpx.get(f"{url}/internal", headers={HEADER: header} if header else {})
    assert response.status_code == status
    if status == 200:
        assert response.json() == {"caller": "agent"}


async def test_client_retries_5xx_then_succeeds_with_credentials(server: tuple[str, Flaky, dict[str, bool]]) -> None:
    url, flaky, _ = server
    flaky.calls, flaky.failures = 0, 2
    async with ServiceClient(url, caller="api", service_keys=KEYS, retries=3, backoff=0.01) as client:
        response = await client.get("/flaky")
        assert response.status_code == 200 and response.json()["calls"] == 3
        assert len(response.json()["request_id"]) == 32
        assert (await client.get("/internal")).json() == {"caller": "api"}


async def test_a_streamed_body_is_sent_whole_again_on_retry(server: tuple[str, Flaky, dict[str, bool]]) -> None:
    url, flaky, _ = server
    flaky.calls, flaky.failures = 0, 1
    chunks = [bytes([n]) * 65536 for n in range(1, 9)]

    async def stream() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    async with ServiceClient(url, caller="api", retries=2, backoff=0.01) as client:
        response = await client.post("/flaky", content=stream)
    assert response.json() == {"calls": 2, "bytes": 8 * 65536, "sum": sum(sum(c) for c in chunks)}


async def test_client_gives_back_the_last_5xx_after_bounded_retries(server: tuple[str, Flaky, dict[str, bool]]) -> None:
    url, flaky, _ = server
    flaky.calls, flaky.failures = 0, 100
    async with ServiceClient(url, caller="api", retries=2, backoff=0.01) as client:
        response = await client.get("/flaky")
    assert response.status_code == 503
    assert flaky.calls == 3  # one try and two retries, no more


async def test_client_raises_when_nothing_listens() -> None:
    async with ServiceClient(f"http://127.0.0.1:{free_port()}", caller="api", retries=2, backoff=0.01) as client:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable, match="ConnectError"):
            await client.get("/health")
    assert time.monotonic() - started < 2


async def test_client_does_not_retry_4xx(server: tuple[str, Flaky, dict[str, bool]]) -> None:
    url, _, _ = server
    async with ServiceClient(url, caller="nobody", retries=3, backoff=0.5) as client:
        started = time.monotonic()
        assert (await client.get("/internal")).status_code == 401
    assert time.monotonic() - started < 0.5
