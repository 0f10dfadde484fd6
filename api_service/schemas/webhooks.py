"""Webhooks and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from shared.contracts.webhooks import Event


class WebhookIn(BaseModel):
    url: AnyHttpUrl
    events: list[Event] = Field(min_length=1)


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="shown once: verify X-Intrascribe-Signature with it")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    event: str
    status: str
    attempts: int
    response_status: int | None
    error: str | None
    payload: dict[str, Any]
    created_at: datetime
    delivered_at: datetime | None
