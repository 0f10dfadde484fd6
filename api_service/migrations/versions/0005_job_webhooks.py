"""A batch upload's own webhook_url: a webhook row tied to its job.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("job_id", sa.String(length=36), nullable=True))
        batch.create_foreign_key("fk_webhooks_job_id_jobs", "jobs", ["job_id"], ["id"], ondelete="CASCADE")
        batch.create_index("ix_webhooks_job_id", ["job_id"])


def downgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_index("ix_webhooks_job_id")
        batch.drop_constraint("fk_webhooks_job_id_jobs", type_="foreignkey")
        batch.drop_column("job_id")
