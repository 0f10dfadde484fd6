"""The job queue: dramatiq on Redis. A worker that dies stops heartbeating, and its unfinished
messages are handed to another worker after JOB_HEARTBEAT_TIMEOUT_S (see docs/decisions.md).

The queue is set up explicitly, once, by the process that uses it — ``create_app`` in the API,
``main`` in the worker — with :func:`configure`. Importing an actor module reads no settings and
opens no connection: actors are declared on a placeholder broker that refuses every message, and
``configure`` moves them onto the Redis broker. Job code reads the settings it was configured
with from :func:`settings`."""

from __future__ import annotations

import dramatiq
from dramatiq import Broker, Message
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from api_service.settings import APISettings

# Maintenance (re-queueing a dead worker's messages) runs on this share of broker commands, per
# million; dramatiq's default (0.1%) can leave a dead worker's job waiting for many minutes.
MAINTENANCE_CHANCE = 50_000


class NotConfigured(StubBroker):
    """Holds the actors declared before start-up; sending through it is a programming error."""

    def enqueue(self, message: Message, *, delay: int | None = None) -> Message:
        raise RuntimeError(f"job {message.actor_name!r} sent before the job queue was configured (jobs.broker.configure)")


_settings: APISettings | None = None
dramatiq.set_broker(NotConfigured())


def configure(config: APISettings) -> RedisBroker:
    """The Redis broker for ``config``, made the global one, with every declared actor on it."""
    global _settings
    broker = RedisBroker(
        url=config.redis_url,
        namespace="intrascribe-jobs",
        heartbeat_timeout=config.job_heartbeat_timeout_s * 1000,
        maintenance_chance=MAINTENANCE_CHANCE,
    )
    previous: Broker = dramatiq.get_broker()
    for name in previous.get_declared_actors():
        actor = previous.get_actor(name)
        actor.broker = broker
        broker.declare_actor(actor)
    dramatiq.set_broker(broker)
    _settings = config
    return broker


def settings() -> APISettings:
    """The settings the queue was configured with (what a job in this process runs under)."""
    if _settings is None:
        raise RuntimeError("the job queue was not configured (jobs.broker.configure)")
    return _settings
