"""run ended notify

A trigger tells listeners (the API's long polls) the moment a run's status turns
terminal, on every path that ends a run (worker, cancel, reaper): PostgreSQL only;
SQLite (the embedded mode) has no NOTIFY and its long polls poll.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CHANNEL = "skyq_run_ended"
TERMINAL = "('completed', 'failed', 'terminated', 'timed_out', 'canceled')"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION skyq_notify_run_ended() RETURNS trigger AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', NEW.run_id);
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER runs_ended AFTER UPDATE OF status ON runs
        FOR EACH ROW
        WHEN (NEW.status IN {TERMINAL} AND OLD.status IS DISTINCT FROM NEW.status)
        EXECUTE FUNCTION skyq_notify_run_ended()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS runs_ended ON runs")
    op.execute("DROP FUNCTION IF EXISTS skyq_notify_run_ended()")
