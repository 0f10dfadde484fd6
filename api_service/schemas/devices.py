"""ESP32 room microphones."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class DeviceIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    online: bool = False
    revoked: bool = False
    current_session_id: str | None
    last_seen_at: datetime | None
    created_at: datetime


class DeviceCreated(DeviceOut):
    token: str = Field(description="shown once; store it on the device (its console's `token` command)")
