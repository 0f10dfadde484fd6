"""Webhook subscriptions and their delivery log."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, HTTPException, Response, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import Webhook, WebhookDelivery
from api_service.deps import CurrentUserDep, DbDep, SettingsDep, not_found
from api_service.schemas.webhooks import DeliveryOut, WebhookCreated, WebhookIn, WebhookOut
from api_service.webhooks import check_target

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


async def owned(session: AsyncSession, webhook_id: str, user_id: str) -> Webhook:
    hook = await session.get(Webhook, webhook_id)
    if hook is None or hook.user_id != user_id:
        raise not_found("webhook")
    return hook


@router.post("/", response_model=WebhookCreated, status_code=status.HTTP_201_CREATED)
async def create(body: WebhookIn, user: CurrentUserDep, session: DbDep, settings: SettingsDep) -> WebhookCreated:
    if problem := await check_target(str(body.url), settings.webhook_allow_private_targets):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, problem)
    owned = await session.scalar(
        select(func.count()).select_from(Webhook).where(Webhook.user_id == user.id, Webhook.job_id.is_(None))
    )
    if settings.quota_webhooks_per_user and (owned or 0) >= settings.quota_webhooks_per_user:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"You have {owned} webhooks, the most one account may have; delete one before adding another.",
        )
    hook = Webhook(user_id=user.id, url=str(body.url), events=list(body.events), secret=secrets.token_urlsafe(32))
    session.add(hook)
    await session.commit()
    return WebhookCreated.model_validate({**WebhookOut.model_validate(hook).model_dump(), "secret": hook.secret})


@router.get("/", response_model=list[WebhookOut])
async def list_webhooks(user: CurrentUserDep, session: DbDep) -> list[WebhookOut]:
    rows = (
        await session.execute(
            select(Webhook).where(Webhook.user_id == user.id, Webhook.job_id.is_(None)).order_by(Webhook.created_at)
        )
    ).scalars()
    return [WebhookOut.model_validate(r) for r in rows]


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(webhook_id: str, user: CurrentUserDep, session: DbDep) -> Response:
    await session.delete(await owned(session, webhook_id, user.id))
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryOut])
async def deliveries(webhook_id: str, user: CurrentUserDep, session: DbDep) -> list[DeliveryOut]:
    await owned(session, webhook_id, user.id)
    rows = (
        await session.execute(
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.created_at.desc())
            .limit(200)
        )
    ).scalars()
    return [DeliveryOut.model_validate(r) for r in rows]
