"""Running totals per day, workflow, status and deployment for the Executions summary.

The summary over a million executions must not scan them: it reads these totals for the
whole days of a range and scans only the partial days at its ends. Existing executions
are counted into the table here, in the same transaction. Also an index on (workflow,
status, started_at, id): filtering on a rare workflow and a rare status together
otherwise walks one of the single-column indexes for thousands of rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "executions_stats",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("workflow_name", sa.String(200), primary_key=True),
        sa.Column("status", sa.String(20), primary_key=True),
        sa.Column("deployment_id", sa.String(128), primary_key=True),
        sa.Column("executions", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
    )
    op.create_index(
        "ix_executions_workflow_status_started",
        "executions",
        ["workflow_name", "status", "started_at", "id"],
    )
    day = "date(started_at)" if op.get_bind().dialect.name == "sqlite" else "CAST(started_at AS DATE)"
    op.execute(
        "INSERT INTO executions_stats (day, workflow_name, status, deployment_id, executions, cost_usd) "
        f"SELECT {day}, workflow_name, status, COALESCE(deployment_id, ''), COUNT(*), "
        "COALESCE(SUM(total_cost_usd), 0) FROM executions "
        f"GROUP BY {day}, workflow_name, status, COALESCE(deployment_id, '')"
    )


def downgrade() -> None:
    op.drop_index("ix_executions_workflow_status_started", table_name="executions")
    op.drop_table("executions_stats")
