"""The `executions_stats` totals: kept in step with `executions`, and the summary read from them.

Every change that moves an execution between (day, workflow, status, deployment) keys, or
changes its cost, applies a delta here in the same transaction. The summary adds the
totals of the whole days in the filtered range to an indexed scan of the partial days at
its ends. A text filter counts the executions whose workflow name holds it the same way,
and those matching only by id or error message one by one (found through the text index).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, case, func, literal, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.util import ClauseAdapter

from cagents.store.models import Execution, ExecutionStat
from cagents.store.records import Summary
from cagents.store.repositories._base import table_of, upsert
from cagents.store.repositories._search import SummaryParts

__all__ = ["StatKey", "apply_deltas", "key_of", "move", "rebuild", "summarize"]

RUNNING = ("running", "pending", "waiting")
_E = table_of(Execution)
_S = table_of(ExecutionStat)


class StatKey(NamedTuple):
    day: date
    workflow_name: str
    status: str
    deployment_id: str


def key_of(row: Mapping[Any, Any]) -> StatKey:
    """The totals row an execution counts in."""
    return StatKey(
        row["started_at"].date(), row["workflow_name"], row["status"], row["deployment_id"] or ""
    )


Deltas = dict[StatKey, list[float]]


def move(deltas: Deltas, old: Mapping[Any, Any] | None, new: Mapping[Any, Any] | None) -> None:
    """Record that an execution changed from `old` to `new` (None: did not exist / gone)."""
    if old is not None:
        entry = deltas.setdefault(key_of(old), [0, 0.0])
        entry[0] -= 1
        entry[1] -= old["total_cost_usd"] or 0.0
    if new is not None:
        entry = deltas.setdefault(key_of(new), [0, 0.0])
        entry[0] += 1
        entry[1] += new["total_cost_usd"] or 0.0


def apply_deltas(conn: Connection, deltas: Deltas) -> None:
    """Add the deltas to the totals (rows that net to nothing are skipped).

    Keys go in sorted order, so two transactions moving executions between the same two
    rows lock them in the same order (no deadlock on PostgreSQL).
    """
    for key in sorted(deltas):
        count, cost = deltas[key]
        if count == 0 and cost == 0.0:
            continue
        upsert(
            conn,
            _S,
            {**key._asdict(), "executions": int(count), "cost_usd": float(cost)},
            keys=StatKey._fields,
            set_={
                "executions": _S.c.executions + int(count),
                "cost_usd": _S.c.cost_usd + float(cost),
            },
        )


def rebuild(conn: Connection) -> int:
    """Recount the totals from `executions` (one INSERT ... SELECT); returns rows written."""
    day = "date(started_at)" if conn.dialect.name == "sqlite" else "CAST(started_at AS DATE)"
    conn.execute(_S.delete())
    result = conn.execute(
        text(
            "INSERT INTO executions_stats "
            "(day, workflow_name, status, deployment_id, executions, cost_usd) "
            f"SELECT {day}, workflow_name, status, COALESCE(deployment_id, ''), COUNT(*), "
            "COALESCE(SUM(total_cost_usd), 0) FROM executions "
            f"GROUP BY {day}, workflow_name, status, COALESCE(deployment_id, '')"
        )
    )
    return int(result.rowcount or 0)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _whole_days(since: datetime | None, until: datetime | None) -> tuple[date | None, date | None]:
    """First whole day in [since, until) and the day after the last (None: unbounded)."""
    first = None if since is None else since.date()
    if since is not None and since != _midnight(since.date()):
        first = since.date() + timedelta(days=1)
    end = None if until is None else until.date()
    return first, end


def _tally(status: ColumnElement[str], count: ColumnElement[Any], cost: ColumnElement[Any]) -> Select[Any]:
    """total, completed, failed, running and cost in one row, without GROUP BY.

    Without GROUP BY, SQLite's planner keeps to the started_at range instead of walking
    the status index for its order.
    """

    def of(*names: str) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((status.in_(names), count), else_=0)), 0)

    return select(
        func.coalesce(func.sum(count), 0), of("completed"), of("failed"), of(*RUNNING),
        func.coalesce(func.sum(cost), 0.0),
    )


def summarize(
    conn: Connection,
    *,
    statuses: Iterable[str] | None,
    workflow: str | None,
    deployment_id: str | None,
    since: datetime | None,
    until: datetime | None,
    other_where: list[ColumnElement[bool]],
    exact_only: bool,
    text_parts: SummaryParts | None = None,
) -> Summary:
    """The summary; `other_where` holds every filter but the dates as conditions on `executions`.

    With `text_parts` (and the text left out of `other_where`) the executions whose workflow
    name holds the text are counted like a workflow filter, from the day totals, and only
    those matching by id or error message one by one, through the text index.
    """
    totals = [0, 0, 0, 0, 0.0]

    def add(query: Select[Any]) -> None:
        row = conn.execute(query).one()
        for i, value in enumerate(row):
            totals[i] += value or 0

    def exact(
        low: datetime | None, high: datetime | None, *extra: ColumnElement[bool], source: FromClause = _E
    ) -> None:
        # Only the tightest bounds go in, so the index range is exactly the rows counted.
        bounds = []
        if low is not None:
            bounds.append(_E.c.started_at >= low)
        if high is not None:
            bounds.append(_E.c.started_at < high)
        where = [*other_where, *extra, *bounds]
        if source is not _E:
            where = [ClauseAdapter(source).traverse(w) for w in where]
        add(_tally(source.c.status, literal(1), source.c.total_cost_usd).where(*where))

    if text_parts is not None:
        exact(since, until, text_parts.rest, source=text_parts.rest_source)
    stat_extra = [] if text_parts is None else [text_parts.stats]
    exact_extra = [] if text_parts is None else [text_parts.by_workflow]
    first, end = _whole_days(since, until)
    if exact_only or (first is not None and end is not None and first >= end):
        exact(since, until, *exact_extra)
        return _summary(totals)

    stat_where: list[ColumnElement[bool]] = list(stat_extra)
    if first is not None:
        stat_where.append(_S.c.day >= first)
    if end is not None:
        stat_where.append(_S.c.day < end)
    if statuses is not None:
        stat_where.append(_S.c.status.in_(list(statuses)))
    if workflow is not None:
        stat_where.append(_S.c.workflow_name == workflow)
    if deployment_id is not None:
        stat_where.append(_S.c.deployment_id == deployment_id)
    add(_tally(_S.c.status, _S.c.executions, _S.c.cost_usd).where(*stat_where))
    # The partial days at the ends.
    if since is not None and first is not None and since < _midnight(first):
        exact(since, _midnight(first), *exact_extra)
    if until is not None and end is not None and until > _midnight(end):
        exact(_midnight(end), until, *exact_extra)
    return _summary(totals)


def _summary(totals: list[Any]) -> Summary:
    total, completed, failed, running, cost = totals
    # Float deltas (add then subtract) leave dust like 1e-17; cents never need it.
    cost = round(float(cost), 9)
    return Summary(
        total=int(total),
        completed=int(completed),
        failed=int(failed),
        running=int(running),
        total_cost_usd=cost if abs(cost) > 1e-9 else 0.0,
    )
