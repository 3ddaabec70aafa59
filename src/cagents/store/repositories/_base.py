"""What every repository shares: its database, and an upsert that works on any backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, and_, insert, update
from sqlalchemy.engine import Connection, CursorResult

from cagents.errors import StoreError

if TYPE_CHECKING:
    from cagents.store.db import Database

__all__ = ["Repository", "dialect_insert", "inserted_id", "table_of", "upsert"]


def table_of(model: type[Any]) -> Table:
    """The Core table of a mapped class, typed as one (mypy sees a FromClause)."""
    return cast(Table, model.__table__)


class Repository:
    """Base of the repositories: holds the database; methods open their own transactions."""

    def __init__(self, db: Database) -> None:
        self._db = db


def dialect_insert(dialect: str, table: Table) -> Any:
    """The INSERT with ON CONFLICT clauses of SQLite or PostgreSQL."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert

    return postgresql_insert(table)


def inserted_id(result: CursorResult[Any]) -> int:
    """The integer primary key of the row an INSERT wrote."""
    key = result.inserted_primary_key
    if key is None or key[0] is None:
        raise StoreError("the database did not report the id of the new row")
    return int(key[0])


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
    if conn.dialect.name in ("sqlite", "postgresql"):
        stmt = dialect_insert(conn.dialect.name, table).values(**values)
        conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=dict(set_)))
        return
    where = and_(*(table.c[k] == values[k] for k in keys))
    if conn.execute(update(table).where(where).values(**set_)).rowcount == 0:
        conn.execute(insert(table).values(**values))
