"""What every repository shares: its database, and an upsert that works on any backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, and_, insert, update
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from cagents.store.db import Database

__all__ = ["Repository", "upsert"]


class Repository:
    """Base of the repositories: holds the database; methods open their own transactions."""

    def __init__(self, db: Database) -> None:
        self._db = db


def upsert(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    *,
    keys: Sequence[str],
    set_: Mapping[str, Any],
) -> None:
    """Insert `values`, or on a key clash apply `set_` (column -> value or SQL expression).

    SQLite and PostgreSQL do it in one statement (no race between concurrent writers);
    other backends update first and insert when nothing matched.
    """
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        stmt = dialect_insert(table).values(**values)
        conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=dict(set_)))
        return
    where = and_(*(table.c[k] == values[k] for k in keys))
    if conn.execute(update(table).where(where).values(**set_)).rowcount == 0:
        conn.execute(insert(table).values(**values))
