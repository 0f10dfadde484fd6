"""Redaction: a user's default policy and each session's own (``shared.contracts.redaction``),
as JSON; ``{}`` is the default policy (off).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("users", "sessions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("redaction", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    for table in ("users", "sessions"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("redaction")
