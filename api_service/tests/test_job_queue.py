"""The job queue is set up at start-up, not at import: importing the actors reads no settings and
opens no connection, sending before ``configure`` is refused loudly, and ``configure`` moves every
actor declared so far onto the Redis broker. In a fresh interpreter, since the other tests of this
process configure it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.unit]
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import dramatiq
from dramatiq.brokers.redis import RedisBroker
from api_service.jobs import deliveries, pipeline, post_meeting  # a setting that cannot parse is not read here
from api_service.jobs import broker
from api_service.settings import APISettings

try:
    pipeline.transcribe_upload.send("job-1")
except RuntimeError as exc:
    print("refused:", exc)
configured = broker.configure(APISettings(job_heartbeat_timeout_s=30, redis_url="redis://127.0.0.1:9/0"))
assert dramatiq.get_broker() is configured
for actor in (pipeline.transcribe_upload, post_meeting.process_meeting, deliveries.deliver_webhook):
    assert actor.broker is configured, actor.actor_name
print("queues:", sorted(configured.get_declared_queues()))
print("heartbeat:", configured.heartbeat_timeout)
"""


def test_the_queue_is_configured_at_start_up_and_never_at_import() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JOB_HEARTBEAT_TIMEOUT_S": "not a number"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("refused: job 'transcribe_upload' sent before the job queue was configured"), lines
    assert lines[1] == "queues: ['batch', 'webhooks']"
    assert lines[2] == "heartbeat: 30000"
