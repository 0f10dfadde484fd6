"""Webhook delivery in the batch worker, on its own queue and threads (a slow receiver cannot hold
up transcription): POST the signed payload; a non-2xx answer, a network error or no answer
within WEBHOOK_TIMEOUT_S (the whole attempt) is retried with exponential backoff (dramatiq),
every attempt recorded on the row. The target is resolved and checked again before each attempt
and the connection goes to the checked address; a target that is not allowed fails the delivery
at once, without retries."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import dramatiq
import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.engine import make_engine, sessionmaker
from api_service.db.models import Webhook, WebhookDelivery
from api_service.jobs import broker
from api_service.webhooks import emit, payload_bytes, post_pinned, resolve_target, sign
from shared.contracts.webhooks import EventData

MAX_ATTEMPTS = 6


class DeliveryFailed(Exception):
    pass


async def _deliver(delivery_id: str) -> None:
    settings = broker.settings()
    engine = make_engine(settings.database_url)
    try:
        async with sessionmaker(engine)() as db:
            delivery = await db.get(WebhookDelivery, delivery_id)
            hook = await db.get(Webhook, delivery.webhook_id) if delivery else None
            if delivery is None or hook is None or delivery.status == "delivered":
                return
            body = payload_bytes(delivery)
            delivery.attempts += 1
            problem, addresses = await resolve_target(hook.url, settings.webhook_allow_private_targets)
            if problem:
                delivery.status, delivery.error = "failed", problem
                await db.commit()
                return
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "intrascribe-webhooks",
                "X-Intrascribe-Event": delivery.event,
                "X-Intrascribe-Delivery": delivery.id,
                "X-Intrascribe-Signature": sign(hook.secret, body),
            }
            try:
                response = await post_pinned(hook.url, addresses[0], body, headers, settings.webhook_timeout_s)
                delivery.response_status = response.status_code
                ok, error = response.is_success, None if response.is_success else f"HTTP {response.status_code}"
            except TimeoutError:
                ok, error = False, f"no answer within {settings.webhook_timeout_s:.0f} s"
            except httpx.HTTPError as exc:
                ok, error = False, f"{type(exc).__name__}: {exc}"
            delivery.error = error
            if ok:
                delivery.status, delivery.delivered_at = "delivered", datetime.now(UTC)
            elif delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = "failed"
            await db.commit()
            if not ok and delivery.status != "failed":
                raise DeliveryFailed(error)
    finally:
        await engine.dispose()


def _retry_when(retries: int, exception: Exception) -> bool:
    return isinstance(exception, DeliveryFailed) and retries < MAX_ATTEMPTS


@dramatiq.actor(queue_name="webhooks", max_retries=MAX_ATTEMPTS, min_backoff=1_000, max_backoff=600_000, retry_when=_retry_when)
def deliver_webhook(delivery_id: str, **_: Any) -> None:
    asyncio.run(_deliver(delivery_id))


def queue_deliveries(delivery_ids: list[str]) -> None:
    """Hand recorded (committed) deliveries to the webhook queue."""
    for delivery_id in delivery_ids:
        deliver_webhook.send(delivery_id)


async def notify(session: AsyncSession, user_id: str, data: EventData) -> None:
    """Record deliveries of ``data`` in the caller's transaction, commit, then queue them."""
    ids = await emit(session, user_id, data)
    await session.commit()
    await asyncio.to_thread(queue_deliveries, ids)
