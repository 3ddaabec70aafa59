"""SQLAlchemy models of the app database: every table of DESIGN section 5.

Names and columns follow the UI design (`executions`, `execution_states`, `deployments`,
`chat_sessions`, `chat_messages`) plus the internal tables. JSON values are stored as
text and decoded by the repositories, so one corrupt value never breaks a list. Times are
UTC. The schema itself is created and changed only by the Alembic migrations.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "EXECUTION_STATUSES",
    "TEXT_SEARCH_INDEX",
    "TEXT_SEARCH_TABLE",
    "Base",
    "ChatMessage",
    "ChatSession",
    "Deployment",
    "Execution",
    "ExecutionStat",
    "ExecutionState",
    "MemoryRecord",
    "SessionState",
    "WebhookEvent",
    "WorkflowRegistration",
    "is_text_search_object",
    "utcnow",
]

EXECUTION_STATUSES = ("pending", "running", "waiting", "completed", "failed", "cancelled", "interrupted")


#: Made by revision 0003 outside these models (SQL these classes cannot state): the FTS5
#: table of the Executions text search on SQLite (with its shadow tables `<name>_*`) and the
#: pg_trgm GIN index on PostgreSQL. Schema comparisons skip them (`is_text_search_object`).
TEXT_SEARCH_TABLE = "executions_fts"
TEXT_SEARCH_INDEX = "ix_executions_text_trgm"


def is_text_search_object(name: str | None) -> bool:
    """Whether a table or index name is one of the text search's (see TEXT_SEARCH_TABLE)."""
    return bool(name) and (
        name in (TEXT_SEARCH_TABLE, TEXT_SEARCH_INDEX) or str(name).startswith(f"{TEXT_SEARCH_TABLE}_")
    )


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class ChatSession(Base):
    __tablename__ = "chat_sessions"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_identifier: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    generated_config: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active|completed|abandoned

    __table_args__ = (Index("ix_chat_sessions_updated", "updated_at"),)


class ChatMessage(Base):
    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("chat_sessions.session_id", ondelete="CASCADE"), nullable=False
    )
    role: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    message_metadata: Mapped[str | None] = mapped_column(Text)  # JSON

    __table_args__ = (Index("ix_chat_messages_session", "session_id", "id"),)


class Execution(Base):
    __tablename__ = "executions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workflow_name: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    config_snapshot: Mapped[str | None] = mapped_column(Text)
    config_hash: Mapped[str | None] = mapped_column(String(64))
    inputs: Mapped[str | None] = mapped_column(Text)  # JSON
    outputs: Mapped[str | None] = mapped_column(Text)  # JSON
    error_message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    total_tokens: Mapped[int | None] = mapped_column(Integer)
    total_cost_usd: Mapped[float | None] = mapped_column(Float)
    bottleneck_info: Mapped[str | None] = mapped_column(Text)  # JSON
    deployment_id: Mapped[str | None] = mapped_column(String(128))
    trace_id: Mapped[str | None] = mapped_column(String(128))
    retry_of: Mapped[str | None] = mapped_column(String(64), ForeignKey("executions.id", ondelete="SET NULL"))
    owner: Mapped[str | None] = mapped_column(String(200))
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    waiting_for: Mapped[str | None] = mapped_column(Text)  # JSON: what a human node asks
    trace_note: Mapped[str | None] = mapped_column(Text)  # why a trace is missing, if it is
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)  # asked from another process

    __table_args__ = (
        # Keyset paging newest first, alone and under each filter.
        Index("ix_executions_started", "started_at", "id"),
        Index("ix_executions_status_started", "status", "started_at", "id"),
        Index("ix_executions_workflow_started", "workflow_name", "started_at", "id"),
        # Workflow and status together (revision 0002): a rare pair otherwise scans one side.
        Index("ix_executions_workflow_status_started", "workflow_name", "status", "started_at", "id"),
        Index("ix_executions_deployment", "deployment_id", "started_at"),
    )


class ExecutionStat(Base):
    """Running totals of executions per day, workflow, status and deployment.

    Kept in the same transaction as every change to `executions`, so the Executions
    summary reads a few hundred rows instead of scanning every execution. `deployment_id`
    is '' for runs that were not on a deployment (a key column cannot be NULL).
    """

    __tablename__ = "executions_stats"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workflow_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    executions: Mapped[int] = mapped_column(Integer, nullable=False)
    cost_usd: Mapped[float] = mapped_column(Float, nullable=False)


class ExecutionState(Base):
    """A checkpoint: the state after a node, and what is needed to resume from it."""

    __tablename__ = "execution_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    execution_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("executions.id", ondelete="CASCADE"), nullable=False
    )
    node_id: Mapped[str] = mapped_column(String(200), nullable=False)
    state_data: Mapped[str] = mapped_column(Text, nullable=False)  # JSON state
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    step: Mapped[int] = mapped_column(Integer, default=0)
    duration_seconds: Mapped[float | None] = mapped_column(Float)  # this node's run
    tokens: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    resume_data: Mapped[str | None] = mapped_column(Text)  # JSON: frontier, waiting, visits, metrics

    __table_args__ = (Index("ix_execution_states_execution", "execution_id", "id"),)


class Deployment(Base):
    __tablename__ = "deployments"

    deployment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    deployment_name: Mapped[str] = mapped_column(String(200))
    workflow_name: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    last_heartbeat: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ttl_seconds: Mapped[int] = mapped_column(Integer, default=60)
    capabilities: Mapped[str | None] = mapped_column(Text)  # JSON
    deployment_metadata: Mapped[str | None] = mapped_column(Text)  # JSON
    registered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def is_alive(self, now: datetime | None = None) -> bool:
        """Alive while the last heartbeat is younger than the TTL."""
        now = now or utcnow()
        return now - self.last_heartbeat <= timedelta(seconds=self.ttl_seconds)


class SessionState(Base):
    """Which process owns which running execution; stale heartbeats reveal crashed owners."""

    __tablename__ = "session_state"

    execution_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    owner_id: Mapped[str] = mapped_column(String(64), nullable=False)
    pid: Mapped[int] = mapped_column(Integer)
    hostname: Mapped[str] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_session_state_owner", "owner_id"),)


class WebhookEvent(Base):
    """One received webhook call, kept for idempotency (a retried call does not run twice)."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    workflow_name: Mapped[str] = mapped_column(String(200))
    execution_id: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WorkflowRegistration(Base):
    """A workflow reachable by webhooks, with the config it runs."""

    __tablename__ = "workflow_registrations"

    workflow_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    config_text: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    webhook_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    default_inputs: Mapped[str | None] = mapped_column(Text)  # JSON


class MemoryRecord(Base):
    """Agent memory, kept across executions under a scope (agent, workflow or node)."""

    __tablename__ = "memory_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(20))
    scope_key: Mapped[str] = mapped_column(String(400))
    value: Mapped[str] = mapped_column(Text)  # JSON
    execution_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_memory_records_scope", "scope", "scope_key", "id"),)
