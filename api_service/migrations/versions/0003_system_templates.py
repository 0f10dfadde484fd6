"""System templates (meeting minutes, interview, technical review, stand-up; English and Chinese).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from api_service.templates_seed import SYSTEM_TEMPLATES

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

templates = sa.table(
    "templates",
    sa.column("id", sa.String),
    sa.column("user_id", sa.String),
    sa.column("name", sa.String),
    sa.column("description", sa.Text),
    sa.column("category", sa.String),
    sa.column("language", sa.String),
    sa.column("sections", sa.JSON),
    sa.column("template_content", sa.Text),
    sa.column("is_system", sa.Boolean),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    now = datetime.now(UTC)
    op.bulk_insert(
        templates,
        [
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"intrascribe:template:{t['language']}:{t['name']}")),
                "user_id": None,
                "template_content": None,
                "is_system": True,
                "created_at": now,
                "updated_at": now,
                **t,
            }
            for t in SYSTEM_TEMPLATES
        ],
    )


def downgrade() -> None:
    op.execute(templates.delete().where(templates.c.is_system.is_(True)))
