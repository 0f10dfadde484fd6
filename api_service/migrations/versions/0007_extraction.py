"""Domain detection and structured extraction: templates get a domain (beside their category)
and an optional JSON Schema of fields to extract; sessions record who chose their template and
the last classification; extractions are stored per session, versioned; every language-model
call's tokens and cost are kept per stage. Eight system templates with schemas (sales call,
medical appointment, support call, job interview; English and Chinese), and the stand-ups get one.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from api_service.templates_seed import EXISTING_LABELS, EXTRACTION_TEMPLATES, STANDUP_SCHEMAS

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

templates = sa.table(
    "templates",
    sa.column("id", sa.String),
    sa.column("user_id", sa.String),
    sa.column("name", sa.String),
    sa.column("description", sa.Text),
    sa.column("domain", sa.String),
    sa.column("category", sa.String),
    sa.column("language", sa.String),
    sa.column("sections", sa.JSON),
    sa.column("template_content", sa.Text),
    sa.column("vocabulary", sa.JSON),
    sa.column("extraction_schema", sa.JSON),
    sa.column("is_system", sa.Boolean),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def _id(language: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"intrascribe:template:{language}:{name}"))


def upgrade() -> None:
    with op.batch_alter_table("templates") as batch:
        batch.add_column(sa.Column("domain", sa.String(64), nullable=False, server_default="general"))
        batch.add_column(sa.Column("extraction_schema", sa.JSON(), nullable=True))
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("template_chosen_by", sa.String(16), nullable=True))
        batch.add_column(sa.Column("classification", sa.JSON(), nullable=True))
    # Sessions made with a template so far: the user chose it.
    op.execute("UPDATE sessions SET template_chosen_by = 'user' WHERE template_id IS NOT NULL")
    op.create_table(
        "extractions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("session_id", sa.String(36), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(36), sa.ForeignKey("templates.id", ondelete="SET NULL"), nullable=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("schema", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("completion_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cost_usd", sa.Float(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("session_id", "version"),
    )
    op.create_table(
        "llm_usage",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("session_id", sa.String(36), sa.ForeignKey("sessions.id", ondelete="SET NULL"), nullable=True),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("completion_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cost_usd", sa.Float(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_extractions_session_id", "extractions", ["session_id"])
    op.create_index("ix_llm_usage_session_id", "llm_usage", ["session_id"])
    op.create_index("ix_llm_usage_created_at", "llm_usage", ["created_at"])
    op.create_index("ix_llm_usage_user_created", "llm_usage", ["user_id", "created_at"])

    for name, (domain, category) in EXISTING_LABELS.items():
        values: dict[str, object] = {"domain": domain, "category": category}
        if name in STANDUP_SCHEMAS:
            values["extraction_schema"] = STANDUP_SCHEMAS[name]
        op.execute(templates.update().where(templates.c.is_system.is_(True), templates.c.name == name).values(**values))
    now = datetime.now(UTC)
    op.bulk_insert(
        templates,
        [
            {
                "id": _id(t["language"], t["name"]),
                "user_id": None,
                "template_content": None,
                "vocabulary": [],
                "is_system": True,
                "created_at": now,
                "updated_at": now,
                **t,
            }
            for t in EXTRACTION_TEMPLATES
        ],
    )


def downgrade() -> None:
    op.execute(templates.delete().where(templates.c.id.in_([_id(t["language"], t["name"]) for t in EXTRACTION_TEMPLATES])))
    op.drop_index("ix_llm_usage_user_created", table_name="llm_usage")
    op.drop_table("llm_usage")
    op.drop_table("extractions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("classification")
        batch.drop_column("template_chosen_by")
    with op.batch_alter_table("templates") as batch:
        batch.drop_column("extraction_schema")
        batch.drop_column("domain")
