"""Received webhook calls, kept by idempotency key so a retried call does not run twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from cagents.errors import NotFoundError
from cagents.store.models import WebhookEvent, utcnow
from cagents.store.records import iso
from cagents.store.repositories._base import Repository, dialect_insert, table_of
from cagents.store.repositories._checks import check_text

__all__ = ["WebhookEventRepository"]

_W = table_of(WebhookEvent)


class WebhookEventRepository(Repository):
    """The `webhook_events` table."""

    def record(self, idempotency_key: str, *, workflow_name: str, execution_id: str | None = None) -> bool:
        """Remember a call; False when the key was seen before (the caller must not run it)."""
        check_text("idempotency_key", idempotency_key, 200)
        check_text("workflow_name", workflow_name, 200)
        values = {
            "idempotency_key": idempotency_key,
            "workflow_name": workflow_name,
            "execution_id": execution_id,
            "received_at": utcnow(),
        }
        with self._db.write() as conn:
            if conn.dialect.name in ("sqlite", "postgresql"):
                stmt = (
                    dialect_insert(conn.dialect.name, _W)
                    .on_conflict_do_nothing(index_elements=["idempotency_key"])
                    .values(**values)
                )
                if conn.dialect.name == "sqlite":  # exact rowcount; RETURNING needs SQLite 3.35
                    return conn.execute(stmt).rowcount == 1
                return conn.execute(stmt.returning(_W.c.id)).first() is not None
            try:
                with conn.begin_nested():
                    conn.execute(insert(_W), values)
            except IntegrityError:
                return False
            return True

    def get(self, idempotency_key: str) -> dict[str, Any]:
        """The first call with this key: which execution it started, and when."""
        with self._db.read() as conn:
            row = conn.execute(select(_W).where(_W.c.idempotency_key == idempotency_key)).mappings().first()
        if row is None:
            raise NotFoundError("webhook event", idempotency_key)
        return {
            "idempotency_key": row["idempotency_key"],
            "workflow_name": row["workflow_name"],
            "execution_id": row["execution_id"],
            "received_at": iso(row["received_at"]),
        }
