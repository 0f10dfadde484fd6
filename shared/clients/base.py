"""HTTP client for service-to-service calls: timeouts, bounded retries with exponential backoff on
connection errors and 5xx/429, the caller's service credential, and the current request id; and
``call()``, which parses an answer into its contract model."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
import ssl
import uuid
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from shared.logs import request_id_var
from shared.service_auth import service_header

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
Model = TypeVar("Model", bound=BaseModel)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The certificate store every client of this process verifies HTTPS with: built once, where
    each httpx client would load the CA bundle again (tens of ms of CPU; a room job of the agent
    makes several clients, and eight jobs starting together on two cores waited seconds for them)."""
    return httpx.create_ssl_context()


class ServiceUnavailable(RuntimeError):
    """The other service did not answer successfully after every retry."""


class ServiceRefused(RuntimeError):
    """The other service answered with a 4xx: sending the same again will not help."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        try:
            detail = response.json().get("detail")
        except (ValueError, AttributeError):
            detail = None
        self.detail = str(detail) if detail else response.text[:200]
        super().__init__(f"{self.status_code} {self.detail}")


class ServiceClient:
    def __init__(
        self,
        base_url: str,
        *,
        caller: str,
        service_keys: dict[str, str] | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 3.0,
        retries: int = 3,
        backoff: float = 0.25,
        max_backoff: float = 4.0,
    ) -> None:
        self._retries = retries
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            # Idle connections are dropped before the server's keep-alive ends (uvicorn: 5 s, the
            # same as httpx's default): reusing one the server was closing failed a request that
            # came 5 s after the last with a ReadError (a room microphone lost a speaker change).
            limits=httpx.Limits(keepalive_expiry=2.0),
            verify=tls_context(),
            headers={"User-Agent": f"intrascribe-{caller}", **service_header(caller, service_keys or {})},
        )

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send with retries. Returns the last response (which may be a 4xx: that is the
        caller's to handle); raises ServiceUnavailable when every attempt failed. A streamed
        body is given as ``content=`` a function that makes the stream, so a retry sends it again."""
        headers = {"X-Request-ID": _request_id(), **kwargs.pop("headers", {})}
        content = kwargs.pop("content", None)
        last_error: str = ""
        for attempt in range(self._retries + 1):
            try:
                body = content() if callable(content) else content
                response = await self._client.request(method, url, headers=headers, content=body, **kwargs)
                if response.status_code < 500 and response.status_code not in RETRY_STATUSES:
                    return response
                last_error = f"HTTP {response.status_code}"
                if attempt == self._retries:
                    return response
                delay = _retry_after(response) or self._delay(attempt)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                if attempt == self._retries:
                    break
                delay = self._delay(attempt)
            log.warning(
                "%s %s%s failed (%s); retry %d in %.2fs", method, self._client.base_url, url, last_error, attempt + 1, delay
            )
            await asyncio.sleep(delay)
        raise ServiceUnavailable(f"{method} {self._client.base_url}{url}: {last_error}")

    def _delay(self, attempt: int) -> float:
        # Full jitter keeps many agents from retrying in lockstep.
        return random.uniform(0, min(self._max_backoff, self._backoff * 2**attempt))  # noqa: S311 - jitter, not crypto

    async def call(self, model: type[Model], method: str, url: str, **kwargs: Any) -> Model:
        """The answer as ``model``. Raises ServiceRefused on a 4xx, ServiceUnavailable on a 5xx
        or 429 once retries are spent (or when the answer does not fit the contract)."""
        response = await self.request(method, url, **kwargs)
        if response.status_code >= 500 or response.status_code == 429:
            raise ServiceUnavailable(f"{method} {self._client.base_url}{url}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise ServiceRefused(response)
        try:
            return model.model_validate_json(response.content)
        except ValueError as exc:
            raise ServiceUnavailable(f"{method} {self._client.base_url}{url}: the answer is not a {model.__name__}") from exc

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> ServiceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _request_id() -> str:
    current = request_id_var.get()
    return current if current != "-" else uuid.uuid4().hex


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(float(response.headers["Retry-After"]), 30.0)
    except (KeyError, ValueError):
        return None


async def file_chunks(path: str | os.PathLike[str], chunk: int = 1 << 20) -> AsyncIterator[bytes]:
    """A file as a streamed request body, read a chunk at a time off the event loop."""
    with open(path, "rb") as file:  # noqa: ASYNC230 - chunks are read in a thread below
        while data := await asyncio.to_thread(file.read, chunk):
            yield data
