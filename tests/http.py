"""One-off HTTP calls from async tests."""

from __future__ import annotations

from typing import Any

import httpx


async def call(method: str, url: str, **options: Any) -> httpx.Response:
    """A single request on a fresh client (tests talk to several services on different ports)."""
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.request(method, url, **options)
