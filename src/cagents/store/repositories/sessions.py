"""Which process owns which running execution (`session_state`); quiet owners reveal crashes.

A process claims each execution it runs and beats for all of them at once; recovery asks
for the executions whose owner stopped beating and marks them interrupted.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from cagents.errors import NotFoundError, StoreError
from cagents.store.models import SessionState, utcnow
from cagents.store.repositories._base import Repository, table_of, upsert
from cagents.store.repositories._checks import check_text

__all__ = ["SessionStateRepository"]

_SS = table_of(SessionState)


class SessionStateRepository(Repository):
    """The `session_state` table."""

    def claim(self, execution_id: str, *, owner_id: str, pid: int, hostname: str) -> None:
        """Make `owner_id` the owner of the execution (taking it over from a previous owner)."""
        check_text("owner_id", owner_id, 64)
        check_text("hostname", hostname, 255)
        values = {
            "owner_id": owner_id,
            "pid": int(pid),
            "hostname": hostname,
            "heartbeat_at": utcnow(),
        }
        with self._db.write() as conn:
            try:
                upsert(
                    conn,
                    _SS,
                    {"execution_id": execution_id, **values},
                    keys=("execution_id",),
                    set_=values,
                )
            except IntegrityError as exc:
                if "foreign key" in str(exc.orig).lower():
                    raise NotFoundError("execution", execution_id) from exc
                raise StoreError(f"cannot claim execution '{execution_id}': {exc.orig}") from exc

    def heartbeat(self, owner_id: str) -> int:
        """Refresh every claim of `owner_id`; returns how many it holds."""
        with self._db.write() as conn:
            result = conn.execute(
                update(_SS).where(_SS.c.owner_id == owner_id).values(heartbeat_at=utcnow())
            )
            return int(result.rowcount)

    def release(self, execution_id: str) -> None:
        """Drop the claim (no error when there is none: releasing twice is harmless)."""
        with self._db.write() as conn:
            conn.execute(delete(_SS).where(_SS.c.execution_id == execution_id))

    def stale(self, *, older_than_seconds: float) -> list[str]:
        """Executions whose owner has not beaten for `older_than_seconds`."""
        cutoff = utcnow() - timedelta(seconds=older_than_seconds)
        query = select(_SS.c.execution_id).where(_SS.c.heartbeat_at < cutoff).order_by(_SS.c.execution_id)
        with self._db.read() as conn:
            return list(conn.execute(query).scalars())

    def owned_by(self, owner_id: str) -> list[str]:
        """The executions `owner_id` currently claims."""
        query = select(_SS.c.execution_id).where(_SS.c.owner_id == owner_id).order_by(_SS.c.execution_id)
        with self._db.read() as conn:
            return list(conn.execute(query).scalars())
