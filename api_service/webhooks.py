"""Outgoing webhooks: ``session.completed``, ``summary.ready``, ``job.failed``. Each delivery is
a row (the delivery log), sent by the batch worker with retries and exponential backoff, and
signed: ``X-Intrascribe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.

A batch upload may name its own ``webhook_url``: a webhook row tied to the job (``job_id``), with a
secret of its own returned once in the upload's answer, hearing only that job's
``session.completed`` and ``job.failed``.

Targets are checked when a webhook is made and again before each delivery: http(s) only, and no
loopback, private, link-local or otherwise non-public address unless
WEBHOOK_ALLOW_PRIVATE_TARGETS is set (a webhook URL must not become a way into our network)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import socket
import time
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import Webhook, WebhookDelivery
from shared.contracts.webhooks import Envelope, EventData

MAX_URL_LENGTH = 2000


async def check_target(url: str, allow_private: bool) -> str | None:
    """Why ``url`` may not receive webhooks, or None when it may."""
    problem, _addresses = await resolve_target(url, allow_private)
    return problem


async def resolve_target(url: str, allow_private: bool) -> tuple[str | None, list[str]]:
    """(why ``url`` may not receive webhooks, or None; the addresses it was checked at). A
    delivery connects to one of those, so a name that resolves elsewhere by the time of the
    connection (DNS rebinding) cannot move it into our network."""
    if len(url) > MAX_URL_LENGTH:
        return f"the webhook URL is longer than {MAX_URL_LENGTH} characters", []
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        return f"the webhook URL is not valid: {exc}", []
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the webhook URL must be an http:// or https:// URL with a host", []
    if parts.username or parts.password:
        return "the webhook URL must not carry credentials", []
    host = parts.hostname
    private = f"the webhook host {host} is not public (set WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow it)"
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        if not allow_private and (host == "localhost" or host.endswith((".localhost", ".local", ".internal"))):
            return private, []
        try:
            infos = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), 5)
        except (OSError, TimeoutError):
            return f"the webhook host {host} cannot be resolved", []
        addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
    for address in addresses if not allow_private else ():
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            return (
                f"the webhook URL points at a loopback, private or reserved address ({address}); "
                "set WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow it"
            ), []
    return None, sorted(str(a) for a in addresses)


async def post_pinned(url: str, address: str, body: bytes, headers: dict[str, str], deadline_s: float) -> httpx.Response:
    """POST to ``url`` over a connection to ``address`` (the one that was checked), with the URL's
    own host in the Host header and in TLS (SNI and the certificate check). ``deadline_s`` bounds
    the whole attempt, not each read, so a receiver that trickles its answer cannot hold a thread."""
    parts = urlsplit(url)
    ip = f"[{address}]" if ":" in address else address
    pinned = urlunsplit((parts.scheme, f"{ip}:{parts.port}" if parts.port else ip, parts.path or "/", parts.query, ""))
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    async with httpx.AsyncClient(timeout=deadline_s, follow_redirects=False) as client:
        request = client.build_request(
            "POST", pinned, content=body, headers={**headers, "Host": parts.netloc}, extensions=extensions
        )
        return await asyncio.wait_for(client.send(request), deadline_s)


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def payload_bytes(delivery: WebhookDelivery) -> bytes:
    envelope = Envelope.model_validate(
        {"id": delivery.id, "event": delivery.event, "created_at": delivery.created_at, "data": delivery.payload}
    )
    body = {**envelope.model_dump(mode="json"), "created_at": envelope.created_at.isoformat()}
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()


async def emit(session: AsyncSession, user_id: str, data: EventData, job_id: str | None = None) -> list[str]:
    """Record a delivery of ``data``'s event for each of the user's webhooks that wants it (and
    for the webhook of job ``job_id``, if it has one); returns their ids (the caller commits,
    then queues them with ``jobs.deliveries.queue_deliveries``)."""
    event, payload = data.event, data.model_dump(mode="json", exclude_unset=True)
    scope = Webhook.job_id.is_(None) if job_id is None else or_(Webhook.job_id.is_(None), Webhook.job_id == job_id)
    hooks = (await session.execute(select(Webhook).where(Webhook.user_id == user_id, Webhook.active.is_(True), scope))).scalars()
    deliveries = [
        WebhookDelivery(webhook_id=hook.id, event=event, payload=payload) for hook in hooks if event in (hook.events or [])
    ]
    session.add_all(deliveries)
    await session.flush()
    return [d.id for d in deliveries]
