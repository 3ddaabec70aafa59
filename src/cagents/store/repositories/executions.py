"""Executions: the accepted record, updates and the final summary, the filtered list and totals.

Every change that affects the summary also moves the `executions_stats` totals in the same
transaction. Checkpoints live in `StateRepository`; the methods here delegate for callers
that think of them as part of an execution.
"""

from __future__ import annotations

import base64
import binascii
import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.util import ClauseAdapter

from cagents.errors import ConflictError, NotFoundError, RequestError, StoreError
from cagents.store.models import EXECUTION_STATUSES, Execution, ExecutionStat, utcnow
from cagents.store.records import (
    ExecutionFilters,
    ExecutionRecord,
    Page,
    StateRecord,
    Summary,
    decode_json,
    encode_json,
    to_utc_naive,
)
from cagents.store.repositories import _search, _stats
from cagents.store.repositories._base import Repository, table_of
from cagents.store.repositories._checks import check_choice, check_int, check_text

if TYPE_CHECKING:
    from cagents.store.repositories.states import StateRepository

__all__ = ["MAX_PAGE", "ExecutionRepository"]

MAX_PAGE = 1000
_E = table_of(Execution)
_COLUMN_NAMES = frozenset(c.name for c in _E.c)
#: Columns `create` takes as arguments (its `more` sets the others).
_CREATE_ARGUMENTS = frozenset({"id", "workflow_name", "status", "config_snapshot", "config_hash", "inputs",
                               "started_at", "retry_of", "deployment_id", "owner"})
_NO_FILTERS = ExecutionFilters()
_JSON = frozenset({"inputs", "outputs", "bottleneck_info", "waiting_for"})
_TIMES = frozenset({"started_at", "completed_at"})
_STAT_COLUMNS = ("id", "started_at", "workflow_name", "status", "deployment_id", "total_cost_usd")
_ACTIVE = ("running", "pending")
_CHUNK = 500


def _record(row: Mapping[Any, Any]) -> ExecutionRecord:
    corrupt: list[str] = []
    decoded = {name: decode_json(row[name], name, corrupt) for name in sorted(_JSON)}
    return ExecutionRecord(
        id=row["id"],
        workflow_name=row["workflow_name"],
        status=row["status"],
        config_snapshot=row["config_snapshot"],
        config_hash=row["config_hash"],
        inputs=decoded["inputs"],
        outputs=decoded["outputs"],
        error_message=row["error_message"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        duration_seconds=row["duration_seconds"],
        total_tokens=row["total_tokens"],
        total_cost_usd=row["total_cost_usd"],
        bottleneck_info=decoded["bottleneck_info"],
        deployment_id=row["deployment_id"],
        trace_id=row["trace_id"],
        retry_of=row["retry_of"],
        owner=row["owner"],
        simulated=bool(row["simulated"]),
        waiting_for=decoded["waiting_for"],
        trace_note=row["trace_note"],
        cancel_requested=bool(row["cancel_requested"]),
        corrupt_fields=tuple(sorted(corrupt)),
    )


def encode_cursor(started_at: datetime, execution_id: str) -> str:
    """Opaque keyset position: the last row's start time and id."""
    raw = f"{started_at.isoformat()}|{execution_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position in a cursor; anything else is a RequestError("invalid cursor ...") (400):
    the caller passed it, the database is fine."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
        stamp, sep, execution_id = raw.partition("|")
        if not sep or not execution_id:
            raise ValueError("no id")
        return datetime.fromisoformat(stamp), execution_id
    except (ValueError, UnicodeError, binascii.Error, AttributeError) as exc:
        raise RequestError(
            f"invalid cursor {str(cursor)[:40]!r}: pass the next_cursor of a previous page, "
            "or none for the first page", field="cursor",
        ) from exc


def _statuses(status: str | Sequence[str] | None) -> list[str] | None:
    if status is None:
        return None
    wanted = [status] if isinstance(status, str) else list(status)
    if not wanted:
        return None
    for name in wanted:
        check_choice("execution status", name, EXECUTION_STATUSES)
    return wanted


def _where(
    filters: ExecutionFilters, *, sqlite: bool, dates: bool = True, text: bool = True
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    statuses = _statuses(filters.status)
    if statuses is not None:
        where.append(_E.c.status == statuses[0] if len(statuses) == 1 else _E.c.status.in_(statuses))
    if filters.workflow is not None:
        where.append(_E.c.workflow_name == filters.workflow)
    if filters.deployment_id is not None:
        where.append(_E.c.deployment_id == filters.deployment_id)
    if dates and filters.since is not None:
        where.append(_E.c.started_at >= to_utc_naive(filters.since))
    if dates and filters.until is not None:
        where.append(_E.c.started_at < to_utc_naive(filters.until))
    if text and filters.text:
        where.append(_search.condition(filters.text, sqlite=sqlite))
    return where


class ExecutionRepository(Repository):
    """The `executions` table and its totals."""

    # ---- writes ---------------------------------------------------------------------
    def create(
        self,
        *,
        id: str,
        workflow_name: str,
        status: str = "running",
        config_snapshot: str | None,
        config_hash: str | None,
        inputs: dict[str, Any] | None,
        started_at: datetime | None = None,
        retry_of: str | None = None,
        deployment_id: str | None = None,
        owner: str | None = None,
        more: Mapping[str, Any] | None = None,
    ) -> ExecutionRecord:
        """Record an accepted execution; a duplicate id or unknown `retry_of` is refused.

        `more` sets other columns in the same insert (an execution reported by a service
        arrives whole: a reader must never see its status without its outputs or question).
        """
        check_text("execution id", id, 64)
        check_text("workflow_name", workflow_name, 200)
        check_choice("execution status", status, EXECUTION_STATUSES)
        check_text("deployment_id", deployment_id, 128, optional=True)
        check_text("owner", owner, 200, optional=True)
        values: dict[str, Any] = {
            "id": id,
            "workflow_name": workflow_name,
            "status": status,
            "config_snapshot": config_snapshot,
            "config_hash": config_hash,
            "inputs": encode_json(inputs, f"the inputs of execution '{id}'"),
            "outputs": None,
            "error_message": None,
            "started_at": to_utc_naive(started_at) if started_at else utcnow(),
            "completed_at": None,
            "duration_seconds": None,
            "total_tokens": None,
            "total_cost_usd": None,
            "bottleneck_info": None,
            "deployment_id": deployment_id,
            "trace_id": None,
            "retry_of": retry_of,
            "owner": owner,
            "simulated": False,
            "waiting_for": None,
            "trace_note": None,
            "cancel_requested": False,
        }
        if more:
            unknown = sorted(set(more) - _COLUMN_NAMES)
            if unknown:
                raise StoreError(f"executions have no column {', '.join(map(repr, unknown))} to set at creation")
            named = sorted(set(more) & _CREATE_ARGUMENTS)
            if named:
                raise StoreError(f"give {', '.join(map(repr, named))} to create() by name, not in `more`")
            values.update(self._encode(id, more))
        with self._db.write() as conn:
            if retry_of is not None and not self._exists(conn, retry_of):
                raise NotFoundError("execution", retry_of)
            try:
                conn.execute(insert(_E), values)
            except IntegrityError as exc:
                raise StoreError(
                    f"an execution with id '{id}' already exists; use a new id"
                ) from exc
            deltas: _stats.Deltas = {}
            _stats.move(deltas, None, values)
            _stats.apply_deltas(conn, deltas)
        return _record(values)

    def update(self, id: str, /, **fields: Any) -> None:
        """Set any columns; dict values are JSON-encoded; the totals follow."""
        if "id" in fields:
            raise StoreError("the id of an execution cannot change")
        unknown = sorted(set(fields) - _COLUMN_NAMES)
        if unknown:
            raise StoreError(
                f"executions have no column {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(c.name for c in _E.c if c.name != 'id')}"
            )
        values = self._encode(id, fields)
        with self._db.write() as conn:
            self._apply(conn, id, values)

    def finish(
        self,
        id: str,
        *,
        status: str,
        outputs: dict[str, Any] | None,
        error_message: str | None,
        completed_at: datetime,
        duration_seconds: float,
        total_tokens: int,
        total_cost_usd: float,
        bottleneck_info: dict[str, Any] | None,
        simulated: bool,
        waiting_for: dict[str, Any] | None = None,
    ) -> None:
        """Write the final summary (or the pause of a human node, status `waiting`)."""
        values = self._encode(
            id,
            {
                "status": status,
                "outputs": outputs,
                "error_message": error_message,
                "completed_at": completed_at,
                "duration_seconds": duration_seconds,
                "total_tokens": total_tokens,
                "total_cost_usd": total_cost_usd,
                "bottleneck_info": bottleneck_info,
                "simulated": bool(simulated),
                "waiting_for": waiting_for,
            },
        )
        with self._db.write() as conn:
            self._apply(conn, id, values)

    def request_cancel(self, id: str) -> None:
        """Ask the process running the execution to cancel it (it polls this flag)."""
        with self._db.write() as conn:
            result = conn.execute(update(_E).where(_E.c.id == id).values(cancel_requested=True))
            if result.rowcount == 0:
                raise NotFoundError("execution", id)

    def reopen(self, id: str, *, owner: str, from_statuses: Sequence[str]) -> None:
        """Mark a stopped execution running again for `owner`, if its status is still one of
        `from_statuses`: of two processes resuming it at once exactly one wins (ConflictError)."""
        with self._db.write() as conn:
            old = conn.execute(
                select(*(_E.c[c] for c in _STAT_COLUMNS)).where(_E.c.id == id).with_for_update()
            ).mappings().first()
            if old is None:
                raise NotFoundError("execution", id)
            if old["status"] not in from_statuses:
                raise ConflictError(
                    f"execution {id} is {old['status']} now, so it was not resumed here (another process "
                    f"resumed, finished or cancelled it first); open it to see where it is"
                )
            values = {"status": "running", "error_message": None, "completed_at": None, "waiting_for": None,
                      "owner": owner}
            conn.execute(update(_E).where(_E.c.id == id).values(**values))
            deltas: _stats.Deltas = {}
            _stats.move(deltas, old, {**old, **values})
            _stats.apply_deltas(conn, deltas)

    def mark_interrupted(self, ids: Sequence[str], reason: str) -> int:
        """Mark those of `ids` still running or pending `interrupted`; returns how many."""
        if isinstance(ids, str):
            ids = [ids]
        now = utcnow()
        marked = 0
        with self._db.write() as conn:
            deltas: _stats.Deltas = {}
            unique = list(dict.fromkeys(ids))
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                where = and_(_E.c.id.in_(chunk), _E.c.status.in_(_ACTIVE))
                rows = conn.execute(
                    select(*(_E.c[c] for c in _STAT_COLUMNS)).where(where).with_for_update()
                ).mappings().all()
                if not rows:
                    continue
                conn.execute(
                    update(_E)
                    .where(where)
                    .values(status="interrupted", error_message=reason, completed_at=now)
                )
                for row in rows:
                    _stats.move(deltas, row, {**row, "status": "interrupted"})
                marked += len(rows)
            _stats.apply_deltas(conn, deltas)
        return marked

    def rebuild_stats(self) -> int:
        """Recount the summary totals from the executions (repair; the benchmark's bulk load)."""
        with self._db.write() as conn:
            return _stats.rebuild(conn)

    # ---- reads ----------------------------------------------------------------------
    def get(self, id: str) -> ExecutionRecord:
        with self._db.read() as conn:
            row = conn.execute(select(_E).where(_E.c.id == id)).mappings().first()
        if row is None:
            raise NotFoundError("execution", id)
        return _record(row)

    def list(
        self,
        filters: ExecutionFilters = _NO_FILTERS,
        *,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[ExecutionRecord]:
        """Newest first (started_at, then id, descending), `limit` per page, keyset paged."""
        check_int("limit", limit, 1, MAX_PAGE)
        sqlite = self._db.is_sqlite
        where = _where(filters, sqlite=sqlite, text=False)
        if cursor:
            started, last_id = decode_cursor(cursor)
            where.append(_E.c.started_at <= started)
            where.append(or_(_E.c.started_at < started, _E.c.id < last_id))
        with self._db.read() as conn:
            if filters.text:
                where.append(_search.list_condition(conn, filters.text, sqlite=sqlite, workflow=filters.workflow))
            source = _search.list_source(
                conn, filters.text, sqlite=sqlite, statuses=_statuses(filters.status), workflow=filters.workflow
            )
            if source is not _E:
                where = [ClauseAdapter(source).traverse(w) for w in where]
            query = (
                select(source)
                .where(*where)
                .order_by(source.c.started_at.desc(), source.c.id.desc())
                .limit(limit + 1)
            )
            rows = conn.execute(query).mappings().all()
        items = [_record(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            next_cursor = encode_cursor(last.started_at, last.id)
        return Page(items=items, next_cursor=next_cursor)

    def summary(self, filters: ExecutionFilters = _NO_FILTERS) -> Summary:
        """Totals over the filtered executions, from the day totals where the filters allow."""
        statuses = _statuses(filters.status)
        sqlite = self._db.is_sqlite
        since = to_utc_naive(filters.since) if filters.since else None
        until = to_utc_naive(filters.until) if filters.until else None
        with self._db.read() as conn:
            parts = None
            if filters.text:
                parts = _search.summary_parts(conn, filters.text, sqlite=sqlite, since=since, until=until)
            return _stats.summarize(
                conn,
                statuses=statuses,
                workflow=filters.workflow,
                deployment_id=filters.deployment_id,
                since=since,
                until=until,
                other_where=_where(filters, sqlite=sqlite, dates=False, text=parts is None),
                exact_only=bool(filters.text) and parts is None,
                text_parts=parts,
            )

    def workflows(self) -> builtins.list[str]:
        """Names of the workflows that have executions, sorted (the filter dropdown)."""
        stats = table_of(ExecutionStat)
        query = (
            select(stats.c.workflow_name)
            .where(stats.c.executions > 0)
            .distinct()
            .order_by(stats.c.workflow_name)
        )
        with self._db.read() as conn:
            return list(conn.execute(query).scalars())

    # ---- checkpoints (kept by StateRepository) ---------------------------------------
    @property
    def _states(self) -> StateRepository:
        return self._db.states

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
        return self._states.add_state(
            execution_id,
            node_id=node_id,
            step=step,
            state_data=state_data,
            duration_seconds=duration_seconds,
            tokens=tokens,
            cost_usd=cost_usd,
            resume_data=resume_data,
            created_at=created_at,
        )

    def states(self, execution_id: str) -> builtins.list[StateRecord]:
        """The checkpoints of an execution, oldest first."""
        return self._states.states(execution_id)

    def last_state(self, execution_id: str) -> StateRecord | None:
        """The newest checkpoint, or None when no node finished yet."""
        return self._states.last_state(execution_id)

    # ---- helpers ----------------------------------------------------------------------
    @staticmethod
    def _exists(conn: Connection, id: str) -> bool:
        return conn.execute(select(_E.c.id).where(_E.c.id == id)).first() is not None

    @staticmethod
    def _encode(id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, value in fields.items():
            if name in _JSON:
                value = encode_json(value, f"{name} of execution '{id}'")
            elif name in _TIMES and value is not None:
                if not isinstance(value, datetime):
                    raise StoreError(f"{name} of execution '{id}' must be a datetime, got {value!r}")
                value = to_utc_naive(value)
            elif name == "status":
                check_choice("execution status", value, EXECUTION_STATUSES)
            elif name == "workflow_name":
                check_text("workflow_name", value, 200)
            elif name == "started_at":
                raise StoreError(f"started_at of execution '{id}' cannot be empty")
            values[name] = value
        return values

    @staticmethod
    def _apply(conn: Connection, id: str, values: Mapping[str, Any]) -> None:
        """Update one execution, moving its totals when a summary column changes."""
        if not any(name in values for name in _STAT_COLUMNS):
            if values:
                result = conn.execute(update(_E).where(_E.c.id == id).values(**values))
                if result.rowcount == 0:
                    raise NotFoundError("execution", id)
            elif not ExecutionRepository._exists(conn, id):
                raise NotFoundError("execution", id)
            return
        old = conn.execute(
            select(*(_E.c[c] for c in _STAT_COLUMNS)).where(_E.c.id == id).with_for_update()
        ).mappings().first()
        if old is None:
            raise NotFoundError("execution", id)
        conn.execute(update(_E).where(_E.c.id == id).values(**values))
        deltas: _stats.Deltas = {}
        _stats.move(deltas, old, {**old, **values})
        _stats.apply_deltas(conn, deltas)
