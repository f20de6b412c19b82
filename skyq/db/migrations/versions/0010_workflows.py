"""workflows

Published workflows and their code's revisions, and on runs the workflow a run
published or ran.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workflows",
        sa.Column("workflow_permanent_id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("data_extraction_schema", sa.JSON(), nullable=True),
        sa.Column("task_key", sa.String(length=64), nullable=False),
        sa.Column("source_run_id", sa.String(length=64), nullable=True),
        sa.Column("latest_revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.organization_id"]),
        sa.PrimaryKeyConstraint("workflow_permanent_id"),
    )
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workflows_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_workflows_task_key"), ["task_key"], unique=False)
    op.create_table(
        "workflow_revisions",
        sa.Column("script_revision_id", sa.String(length=64), nullable=False),
        sa.Column("workflow_permanent_id", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("source_run_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workflow_permanent_id"], ["workflows.workflow_permanent_id"]),
        sa.PrimaryKeyConstraint("script_revision_id"),
        sa.UniqueConstraint("workflow_permanent_id", "revision"),
    )
    with op.batch_alter_table("workflow_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workflow_revisions_workflow_permanent_id"),
            ["workflow_permanent_id"],
            unique=False,
        )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("workflow_permanent_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("script_revision_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "ai_fallback_triggered", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("ai_fallback_triggered")
        batch_op.drop_column("script_revision_id")
        batch_op.drop_column("workflow_permanent_id")
    with op.batch_alter_table("workflow_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workflow_revisions_workflow_permanent_id"))
    op.drop_table("workflow_revisions")
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workflows_task_key"))
        batch_op.drop_index(batch_op.f("ix_workflows_organization_id"))
    op.drop_table("workflows")
