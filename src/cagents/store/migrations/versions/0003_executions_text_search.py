"""A trigram index for the Executions text search (substring of id, workflow or error).

A substring `LIKE '%x%'` cannot use a B-tree index, so over a million executions a text
that matches few rows read them all. SQLite gets an FTS5 table with the trigram tokenizer
over id and error message (the few distinct workflow names are matched without it),
external content (no second copy of the text), kept in step by triggers and filled from the
existing rows here; it is keyed by the executions' implicit rowid, which VACUUM keeps (a
later migration that rebuilds `executions` must recreate the triggers and run 'rebuild').
PostgreSQL gets one GIN index with `gin_trgm_ops` on the three columns, which
`ILIKE '%x%'` uses. Where `pg_trgm` cannot be created (no privilege, no contrib package) or
SQLite lacks FTS5/trigram, the migration still succeeds, logs a warning and the search
keeps scanning.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_log = logging.getLogger("cagents.store")

FTS_TABLE = "executions_fts"
TRGM_INDEX = "ix_executions_text_trgm"
_COLUMNS = "id, error_message"
_NEW = "new.rowid, new.id, new.error_message"
_OLD = "old.rowid, old.id, old.error_message"
# External content: the index is told the old values to remove (they must be exactly the
# indexed ones), and an update that leaves both columns alone costs nothing.
_SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER {FTS_TABLE}_insert AFTER INSERT ON executions BEGIN
        INSERT INTO {FTS_TABLE} (rowid, {_COLUMNS}) VALUES ({_NEW});
    END""",
    f"""CREATE TRIGGER {FTS_TABLE}_delete AFTER DELETE ON executions BEGIN
        INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, {_COLUMNS}) VALUES ('delete', {_OLD});
    END""",
    f"""CREATE TRIGGER {FTS_TABLE}_update AFTER UPDATE OF {_COLUMNS} ON executions
    WHEN old.id IS NOT new.id OR old.error_message IS NOT new.error_message
    BEGIN
        INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, {_COLUMNS}) VALUES ('delete', {_OLD});
        INSERT INTO {FTS_TABLE} (rowid, {_COLUMNS}) VALUES ({_NEW});
    END""",
)


def _sqlite_upgrade(bind: Connection) -> None:
    try:
        with bind.begin_nested():
            bind.exec_driver_sql(
                f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5({_COLUMNS}, content='executions', "
                "content_rowid='rowid', tokenize='trigram case_sensitive 0')"
            )
    except DBAPIError as exc:  # no FTS5 module, or SQLite older than 3.34 (no trigram)
        _log.warning(
            "SQLite %s cannot build the executions text index (%s); the Executions text "
            "search scans every row instead (use an SQLite with FTS5, 3.34 or newer)",
            bind.exec_driver_sql("SELECT sqlite_version()").scalar(), getattr(exc, "orig", exc),
        )
        return
    for trigger in _SQLITE_TRIGGERS:
        bind.exec_driver_sql(trigger)
    bind.exec_driver_sql(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('rebuild')")


def _postgresql_upgrade(bind: Connection) -> None:
    try:
        # A savepoint: a refused statement must not abort the migration's transaction.
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            bind.exec_driver_sql(
                f"CREATE INDEX {TRGM_INDEX} ON executions USING gin "
                "(id gin_trgm_ops, workflow_name gin_trgm_ops, error_message gin_trgm_ops)"
            )
    except DBAPIError as exc:
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        _log.warning(
            "could not create the pg_trgm index of the Executions text search (%s); the search "
            "scans every row instead. A superuser can run CREATE EXTENSION pg_trgm in this "
            "database; then downgrade to 0002 and upgrade again to build the index", detail,
        )


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _sqlite_upgrade(bind)
    elif bind.dialect.name == "postgresql":
        _postgresql_upgrade(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for suffix in ("insert", "delete", "update"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{suffix}")
        bind.exec_driver_sql(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    elif bind.dialect.name == "postgresql":
        # pg_trgm stays: other objects may use it, and dropping it may need a superuser.
        bind.exec_driver_sql(f"DROP INDEX IF EXISTS {TRGM_INDEX}")
