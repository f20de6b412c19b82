"""totp codes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 13:11:04.874063
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "totp_codes",
        sa.Column("totp_code_id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("totp_identifier", sa.String(length=300), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("totp_code_id"),
    )
    with op.batch_alter_table("totp_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_totp_codes_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_totp_codes_totp_identifier"), ["totp_identifier"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("totp_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_totp_codes_totp_identifier"))
        batch_op.drop_index(batch_op.f("ix_totp_codes_organization_id"))

    op.drop_table("totp_codes")
