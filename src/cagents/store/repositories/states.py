"""Checkpoints (`execution_states`): written after every node, read back to show and resume.

The write path is the engine's per-node cost, so it is one INSERT in one transaction; the
foreign key, not an extra query, tells an unknown execution apart. On SQLite the INSERT goes
straight to a per-thread driver connection (autocommit: the statement is its own
transaction and takes the write lock through the busy handler, as `BEGIN IMMEDIATE` does),
which costs a third of going through SQLAlchemy's pool and execution layer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from cagents.errors import NotFoundError, StoreError
from cagents.store.models import Execution, ExecutionState, utcnow
from cagents.store.records import StateRecord, decode_json, encode_json, to_utc_naive
from cagents.store.repositories._base import Repository, inserted_id, table_of
from cagents.store.repositories._checks import check_text
from cagents.store.repositories._sqlite_writer import ThreadConnections

__all__ = ["StateRepository"]

_S = table_of(ExecutionState)
_E = table_of(Execution)
_INSERT = insert(_S)
_COLUMNS = (
    "execution_id", "node_id", "state_data", "created_at", "step",
    "duration_seconds", "tokens", "cost_usd", "resume_data",
)
_SQLITE_INSERT = (
    f"INSERT INTO execution_states ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)


def _sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (always with microseconds, so it sorts)."""
    text = value.isoformat(" ")
    return text if value.microsecond else text + ".000000"


def _record(row: Mapping[Any, Any]) -> StateRecord:
    corrupt: list[str] = []
    state = decode_json(row["state_data"], "state_data", corrupt)
    resume = decode_json(row["resume_data"], "resume_data", corrupt)
    return StateRecord(
        id=row["id"],
        execution_id=row["execution_id"],
        node_id=row["node_id"],
        state_data=state,
        created_at=row["created_at"],
        step=row["step"],
        duration_seconds=row["duration_seconds"],
        tokens=row["tokens"],
        cost_usd=row["cost_usd"],
        resume_data=resume,
        corrupt_fields=tuple(corrupt),
    )


class StateRepository(Repository):
    """The `execution_states` table; `ExecutionRepository` offers the same three methods."""

    def add_state(
        self,
        execution_id: str,
        *,
        node_id: str,
        step: int,
        state_data: dict[str, Any],
        duration_seconds: float | None,
        tokens: int | None,
        cost_usd: float | None,
        resume_data: dict[str, Any] | None,
        created_at: datetime | None = None,
    ) -> int:
        """Write a checkpoint in its own transaction; returns its id."""
        if not isinstance(state_data, dict):
            raise StoreError(
                f"state_data of a checkpoint of execution '{execution_id}' must be a dict, "
                f"got {type(state_data).__name__}"
            )
        check_text("node_id", node_id, 200)
        state_text = encode_json(state_data, f"the state after node '{node_id}'", fast=True)
        resume_text = encode_json(resume_data, f"the resume data after node '{node_id}'", fast=True)
        created = to_utc_naive(created_at) if created_at else utcnow()
        if self._db.is_sqlite_file:
            values = (execution_id, node_id, state_text, _sqlite_time(created), step,
                      duration_seconds, tokens, cost_usd, resume_text)
            try:
                return int(self._sqlite.get().execute(_SQLITE_INSERT, values).lastrowid or 0)
            except (sqlite3.Error, SQLAlchemyError) as exc:
                raise self._insert_error(exc, execution_id) from exc
        params = dict(zip(_COLUMNS, (execution_id, node_id, state_text, created, step,
                                     duration_seconds, tokens, cost_usd, resume_text)))
        with self._db.write() as conn:
            try:
                result = conn.execute(_INSERT, params)
            except IntegrityError as exc:
                raise self._insert_error(exc, execution_id) from exc
            return inserted_id(result)

    @cached_property
    def _sqlite(self) -> ThreadConnections:
        return ThreadConnections(self._db.engine)

    def close(self) -> None:
        """Close the per-thread checkpoint connections (the database's `close()` calls this)."""
        if "_sqlite" in self.__dict__:
            self._sqlite.close()

    def _insert_error(self, exc: BaseException, execution_id: str) -> Exception:
        if "foreign key" in str(getattr(exc, "orig", None) or exc).lower():
            return NotFoundError("execution", execution_id)
        return self._db.error(exc, f"writing a checkpoint of execution '{execution_id}'")

    def states(self, execution_id: str) -> list[StateRecord]:
        """The checkpoints of an execution, oldest first."""
        query = select(_S).where(_S.c.execution_id == execution_id).order_by(_S.c.id)
        with self._db.read() as conn:
            rows = conn.execute(query).mappings().all()
            if not rows:
                self._require(conn, execution_id)
        return [_record(row) for row in rows]

    def last_state(self, execution_id: str) -> StateRecord | None:
        """The newest checkpoint, or None when no node finished yet."""
        query = (
            select(_S).where(_S.c.execution_id == execution_id).order_by(_S.c.id.desc()).limit(1)
        )
        with self._db.read() as conn:
            row = conn.execute(query).mappings().first()
            if row is None:
                self._require(conn, execution_id)
                return None
        return _record(row)

    @staticmethod
    def _require(conn: Connection, execution_id: str) -> None:
        if conn.execute(select(_E.c.id).where(_E.c.id == execution_id)).first() is None:
            raise NotFoundError("execution", execution_id)
