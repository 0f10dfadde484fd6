"""Alembic environment: the database URL comes from the API settings (DATABASE_URL), or from
the ``url`` attribute a caller sets on the config."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from api_service.db.models import Base

config = context.config
target_metadata = Base.metadata


def url() -> str:
    configured = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if configured:
        return str(configured)
    from api_service.settings import APISettings

    return APISettings().database_url


# Replicas starting together migrate one at a time: on PostgreSQL each upgrade holds this advisory
# lock for its transaction (DDL is transactional there), so the next one finds the schema at head.
MIGRATION_LOCK = 7_212_026


def do_run_migrations(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_async_engine(url())
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_async_migrations())
