"""The job queue: dramatiq on Redis. A worker that dies stops heartbeating, and its unfinished
messages are handed to another worker after JOB_HEARTBEAT_TIMEOUT_S (see docs/decisions.md)."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from api_service.settings import APISettings

settings = APISettings()
# Maintenance (re-queueing a dead worker's messages) runs on this share of broker commands, per
# million; dramatiq's default (0.1%) can leave a dead worker's job waiting for many minutes.
MAINTENANCE_CHANCE = 50_000
broker = RedisBroker(
    url=settings.redis_url,
    namespace="intrascribe-jobs",
    heartbeat_timeout=settings.job_heartbeat_timeout_s * 1000,
    maintenance_chance=MAINTENANCE_CHANCE,
)
dramatiq.set_broker(broker)
