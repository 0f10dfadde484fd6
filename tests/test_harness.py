"""The harness's own servers are real and disposable: PostgreSQL and Redis answer on their free
ports, and a stopped process is gone by PID."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import redis

from devstack.components import redis_server
from devstack.procs import ProcessFailed, free_port, pid_alive

pytestmark = [pytest.mark.service]


def test_postgres_is_a_real_server(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        assert row is not None
        version = row[0]
        assert int(version.split(".")[0]) >= 13
        conn.execute("CREATE TABLE IF NOT EXISTS harness_check (id serial PRIMARY KEY, body jsonb)")
        conn.execute("INSERT INTO harness_check (body) VALUES (%s)", ('{"ok": true}',))
        assert conn.execute("SELECT body->>'ok' FROM harness_check").fetchone() == ("true",)
        conn.execute("DROP TABLE harness_check")


def test_redis_is_a_real_server_with_streams(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    entry = client.xadd("harness:stream", {"text": "hello"})
    assert client.xrange("harness:stream") == [(entry, {b"text": b"hello"})]
    client.delete("harness:stream")


def test_processes_stop_by_pid_and_failures_show_the_log(tmp_path: Path) -> None:
    port = free_port()
    proc = redis_server(port, tmp_path).start().wait_ready()
    pid = proc.pid
    assert pid is not None and pid_alive(pid)
    proc.stop()
    assert not pid_alive(pid)

    # A server that cannot start fails fast, and the error carries its log.
    broken = redis_server(port, tmp_path / "broken")
    broken.argv += ["--maxmemory-policy", "no-such-policy"]
    broken.start()
    with pytest.raises(ProcessFailed, match="redis exited before it was ready") as err:
        broken.wait_ready()
    assert "no-such-policy" in str(err.value)
