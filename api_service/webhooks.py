"""Outgoing webhooks: ``session.completed``, ``summary.ready``, ``job.failed``. Each delivery is
a row (the delivery log), sent by the batch worker with retries and exponential backoff, and
signed: ``X-Intrascribe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import Webhook, WebhookDelivery

EVENTS = ("session.completed", "summary.ready", "job.failed")


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, tolerance_s: int = 300) -> bool:
    """What a receiver does (and what our tests check)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp).split(",v1=")[1], parts.get("v1", ""))


def payload_bytes(delivery: WebhookDelivery) -> bytes:
    return json.dumps(
        {"id": delivery.id, "event": delivery.event, "created_at": delivery.created_at.isoformat(), "data": delivery.payload},
        ensure_ascii=False,
        sort_keys=True,
    ).encode()


async def emit(session: AsyncSession, user_id: str, event: str, data: dict[str, Any]) -> list[str]:
    """Record a delivery for each of the user's webhooks that wants ``event``; returns their ids
    (the caller commits, then queues them with ``queue_deliveries``)."""
    hooks = (await session.execute(select(Webhook).where(Webhook.user_id == user_id, Webhook.active.is_(True)))).scalars()
    deliveries = [
        WebhookDelivery(webhook_id=hook.id, event=event, payload=data) for hook in hooks if event in (hook.events or [])
    ]
    session.add_all(deliveries)
    await session.flush()
    return [d.id for d in deliveries]


def queue_deliveries(delivery_ids: list[str]) -> None:
    if delivery_ids:
        from api_service.jobs.deliveries import deliver_webhook  # the broker connects on import

        for delivery_id in delivery_ids:
            deliver_webhook.send(delivery_id)
