"""Schema revisions: bring a database to this package's head; refuse one that is newer.

Alembic runs programmatically from the scripts shipped in `cagents/store/migrations`, so an
installed wheel migrates without an alembic.ini. Opening a current database costs one
SELECT and never imports Alembic. Upgrades run in one write transaction (on PostgreSQL
under an advisory lock), so processes opening a fresh database at once migrate it once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from cagents.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

    from cagents.store.db import Database

__all__ = [
    "HEAD_REVISION",
    "KNOWN_REVISIONS",
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "downgrade",
    "ensure_current",
    "upgrade",
]

#: Every revision this package ships, oldest first (a test checks them against the scripts).
KNOWN_REVISIONS: tuple[str, ...] = ("0001", "0002", "0003")
HEAD_REVISION = KNOWN_REVISIONS[-1]
MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
_PG_LOCK_KEY = 0x6361_6701  # any constant; serializes concurrent migrations on PostgreSQL


def alembic_config() -> Config:
    """An Alembic config built in code, pointing at the packaged migration scripts."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _read_revisions(conn: Connection) -> list[str] | None:
    """The revisions stamped in the database; None when it has no version table yet."""
    attempts = 3
    while True:
        try:
            with conn.begin_nested() if conn.in_transaction() else conn.begin():
                rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
            return [str(row) for row in rows]
        except SQLAlchemyError:
            if not inspect(conn).has_table("alembic_version"):
                return None
            # A process migrating at the same time created it since the SELECT: read again.
            attempts -= 1
            if attempts == 0:
                raise


def _unversioned_tables(conn: Connection) -> list[str]:
    """Tables of ours in a database with no version table: made by something else."""
    from cagents.store.models import Base

    existing = set(inspect(conn).get_table_names())
    return sorted(existing & set(Base.metadata.tables))


def _newer_error(db: Database, revisions: list[str]) -> StoreError:
    found = ", ".join(revisions)
    return StoreError(
        f"the database at {db.url} was written by a newer cagents (revision {found}; this "
        f"version knows up to {HEAD_REVISION}); upgrade cagents or use another CAGENTS_DB_URL"
    )


def current_revision(db: Database) -> str | None:
    """The database's schema revision; None for an empty database."""
    with db.read() as conn:
        revisions = _read_revisions(conn)
    if not revisions:
        return None
    return revisions[0] if len(revisions) == 1 else ",".join(sorted(revisions))


def ensure_current(db: Database) -> None:
    """Upgrade to head unless already there; a newer database is refused untouched."""
    try:
        with db.engine.connect() as conn:
            revisions = _read_revisions(conn)
    except SQLAlchemyError as exc:
        raise db.error(exc, "opening it (check the URL, that the server runs and the credentials)") from exc
    if revisions == [HEAD_REVISION]:
        return
    if revisions and any(rev not in KNOWN_REVISIONS for rev in revisions):
        raise _newer_error(db, revisions)
    upgrade(db, "head")


def upgrade(db: Database, revision: str = "head") -> None:
    """Apply migrations up to `revision` in one transaction."""
    _run(db, "upgrade", revision)


def downgrade(db: Database, revision: str) -> None:
    """Revert migrations down to `revision` ("base" empties the schema)."""
    _run(db, "downgrade", revision)


def _run(db: Database, direction: str, revision: str) -> None:
    from alembic import command
    from alembic.util import CommandError

    config = alembic_config()
    try:
        with db.write() as conn:
            if db.dialect == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
            # Read again under the lock: another process may have moved the schema meanwhile.
            revisions = _read_revisions(conn)
            if revisions and any(rev not in KNOWN_REVISIONS for rev in revisions):
                raise _newer_error(db, revisions)
            foreign = _unversioned_tables(conn) if revisions is None else []
            if foreign:
                raise StoreError(
                    f"the database at {db.url} already has tables named like cagents' "
                    f"({', '.join(foreign)}) but no schema revision, so cagents did not create it; "
                    "use another CAGENTS_DB_URL (or move that database aside)"
                )
            config.attributes["connection"] = conn
            if direction == "upgrade":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
    except CommandError as exc:
        raise StoreError(f"cannot {direction} the database at {db.url} to {revision!r}: {exc}") from exc
