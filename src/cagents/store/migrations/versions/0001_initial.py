"""Every table of the first schema: chats, executions and checkpoints, deployments, internals.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_sessions",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("user_identifier", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("generated_config", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
    )
    op.create_index("ix_chat_sessions_updated", "chat_sessions", ["updated_at"])

    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "session_id",
            sa.String(64),
            sa.ForeignKey("chat_sessions.session_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("message_metadata", sa.Text(), nullable=True),
    )
    op.create_index("ix_chat_messages_session", "chat_messages", ["session_id", "id"])

    op.create_table(
        "executions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("workflow_name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("config_snapshot", sa.Text(), nullable=True),
        sa.Column("config_hash", sa.String(64), nullable=True),
        sa.Column("inputs", sa.Text(), nullable=True),
        sa.Column("outputs", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("total_tokens", sa.Integer(), nullable=True),
        sa.Column("total_cost_usd", sa.Float(), nullable=True),
        sa.Column("bottleneck_info", sa.Text(), nullable=True),
        sa.Column("deployment_id", sa.String(128), nullable=True),
        sa.Column("trace_id", sa.String(128), nullable=True),
        sa.Column(
            "retry_of",
            sa.String(64),
            sa.ForeignKey("executions.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("waiting_for", sa.Text(), nullable=True),
        sa.Column("trace_note", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_executions_started", "executions", ["started_at", "id"])
    op.create_index("ix_executions_status_started", "executions", ["status", "started_at", "id"])
    op.create_index(
        "ix_executions_workflow_started", "executions", ["workflow_name", "started_at", "id"]
    )
    op.create_index("ix_executions_deployment", "executions", ["deployment_id", "started_at"])

    op.create_table(
        "execution_states",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "execution_id",
            sa.String(64),
            sa.ForeignKey("executions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("node_id", sa.String(200), nullable=False),
        sa.Column("state_data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("tokens", sa.Integer(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("resume_data", sa.Text(), nullable=True),
    )
    op.create_index("ix_execution_states_execution", "execution_states", ["execution_id", "id"])

    op.create_table(
        "deployments",
        sa.Column("deployment_id", sa.String(128), primary_key=True),
        sa.Column("deployment_name", sa.String(200), nullable=False),
        sa.Column("workflow_name", sa.String(200), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("last_heartbeat", sa.DateTime(), nullable=False),
        sa.Column("ttl_seconds", sa.Integer(), nullable=False),
        sa.Column("capabilities", sa.Text(), nullable=True),
        sa.Column("deployment_metadata", sa.Text(), nullable=True),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
    )

    op.create_table(
        "session_state",
        sa.Column(
            "execution_id",
            sa.String(64),
            sa.ForeignKey("executions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_session_state_owner", "session_state", ["owner_id"])

    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("workflow_name", sa.String(200), nullable=False),
        sa.Column("execution_id", sa.String(64), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
    )

    op.create_table(
        "workflow_registrations",
        sa.Column("workflow_name", sa.String(200), primary_key=True),
        sa.Column("config_text", sa.Text(), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("webhook_enabled", sa.Boolean(), nullable=False),
        sa.Column("default_inputs", sa.Text(), nullable=True),
    )

    op.create_table(
        "memory_records",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("scope_key", sa.String(400), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("execution_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_memory_records_scope", "memory_records", ["scope", "scope_key", "id"])


def downgrade() -> None:
    for table in (
        "memory_records",
        "workflow_registrations",
        "webhook_events",
        "session_state",
        "deployments",
        "execution_states",
        "executions",
        "chat_messages",
        "chat_sessions",
    ):
        op.drop_table(table)
