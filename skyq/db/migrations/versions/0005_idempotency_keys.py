"""idempotency keys

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 13:29:13.440744
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("request_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            "uq_runs_org_idempotency_key", ["organization_id", "idempotency_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_constraint("uq_runs_org_idempotency_key", type_="unique")
        batch_op.drop_column("request_hash")
        batch_op.drop_column("idempotency_key")
