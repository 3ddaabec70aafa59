"""Agent memory kept across executions under a scope (agent, workflow or node) and a key."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import insert, select

from cagents.store.models import MemoryRecord, utcnow
from cagents.store.records import decode_json, encode_json
from cagents.store.repositories._base import Repository, table_of
from cagents.store.repositories._checks import check_int, check_text

__all__ = ["MemoryRepository"]

_M = table_of(MemoryRecord)
_log = logging.getLogger("cagents.store")


class MemoryRepository(Repository):
    """The `memory_records` table."""

    def add(self, scope: str, scope_key: str, value: Any, *, execution_id: str | None = None) -> None:
        """Remember a JSON value under (scope, scope_key)."""
        check_text("memory scope", scope, 20)
        check_text("memory scope_key", scope_key, 400)
        values = {
            "scope": scope,
            "scope_key": scope_key,
            "value": encode_json(value, f"the memory value for {scope} '{scope_key}'") or "null",
            "execution_id": execution_id,
            "created_at": utcnow(),
        }
        with self._db.write() as conn:
            conn.execute(insert(_M), values)

    def recent(self, scope: str, scope_key: str, *, limit: int = 20) -> list[Any]:
        """The newest `limit` values, oldest first; a corrupt value is skipped (and logged)."""
        check_int("limit", limit, 1, 10_000)
        query = (
            select(_M.c.id, _M.c.value)
            .where(_M.c.scope == scope, _M.c.scope_key == scope_key)
            .order_by(_M.c.id.desc())
            .limit(limit)
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        values: list[Any] = []
        for row in reversed(rows):
            corrupt: list[str] = []
            value = decode_json(row.value, "value", corrupt, expect=None)
            if corrupt:
                _log.warning("memory record %s holds a value that is not JSON; skipped", row.id)
                continue
            values.append(value)
        return values
