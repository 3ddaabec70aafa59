"""The Executions text filter: a case-insensitive substring of id, workflow or error message.

The match itself is always the `LIKE` (SQLite: ASCII case folding) or `ILIKE` (PostgreSQL)
of each column, so results never depend on an index; indexes only narrow the rows to check.
PostgreSQL: the `pg_trgm` GIN index of revision 0003 serves that `ILIKE` directly. SQLite:
the FTS5 trigram table of revision 0003 finds the candidates by id and error message (its
phrase match is a superset of the `LIKE`: it folds case wider, never narrower), and the
workflows whose name holds the text are few, read from the workflow index. Texts under three
characters, or holding NUL, have no trigrams to look up and keep the scan. The summary
counts the matches by workflow name from the day totals, like a workflow filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    column,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import FromClause

from cagents.store.models import TEXT_SEARCH_TABLE as FTS_TABLE
from cagents.store.models import Execution, ExecutionStat
from cagents.store.repositories._base import table_of

__all__ = ["SummaryParts", "condition", "list_condition", "list_source", "plan_for_this_text", "summary_parts"]

MIN_INDEXED = 3
#: Below this many candidates a list reads and sorts them all (~3.5 us each); above, walking
#: the page order and checking each row (~0.5 us) finds a 50-row page sooner: a text in one
#: row in 400 needs ~20,000. Equal costs, ~10 ms, at about this many in a million rows.
LIST_CANDIDATES = 2500
_MAX_NAMES = 500
_RANGE_SPEEDUP = 5
_E = table_of(Execution)
_S = table_of(ExecutionStat)
_ROWID = literal_column("executions.rowid", Integer)
# What the summary's filters and totals read (copying only these through a subquery is cheaper).
_SUMMARY_COLUMNS = ("id", "workflow_name", "status", "error_message", "started_at", "total_cost_usd",
                    "deployment_id")
_MATCH = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts_query"
# The distinct workflow names, one index seek each (SQLite has no loose index scan).
_WORKFLOWS = text(
    "WITH RECURSIVE names(name) AS (SELECT min(workflow_name) FROM executions UNION ALL "
    "SELECT (SELECT min(workflow_name) FROM executions WHERE workflow_name > names.name) "
    "FROM names WHERE names.name IS NOT NULL) "
    "SELECT name FROM names WHERE name IS NOT NULL AND name LIKE :pattern ESCAPE '\\'"
)


def pattern(value: str) -> str:
    """`%value%` with `\\`, `%` and `_` escaped (the ESCAPE character is a backslash)."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _like(col: Any, value: str, sqlite: bool) -> ColumnElement[bool]:
    # SQLite's LIKE ignores ASCII case already (and its lower() knows no more than
    # ASCII), so the plain LIKE gives the same matches in a third less time.
    if sqlite:
        return col.like(pattern(value), escape="\\")  # type: ignore[no-any-return]
    return col.ilike(pattern(value), escape="\\")  # type: ignore[no-any-return]


def condition(value: str, *, sqlite: bool) -> ColumnElement[bool]:
    """The exact text filter: any of id, workflow name, error message contains `value`."""
    return or_(*(_like(c, value, sqlite) for c in (_E.c.id, _E.c.workflow_name, _E.c.error_message)))


def list_condition(conn: Connection, value: str, *, sqlite: bool, workflow: str | None) -> ColumnElement[bool]:
    """`condition`, simplified when the list shows one workflow: its name holds the text
    (every row matches) or not (only id and error message can). Asked of the database, so
    the match is its own; a planner cannot see that a rare workflow and a text naming
    another one exclude each other, and would walk every row of the workflow."""
    plan_for_this_text(conn, sqlite=sqlite)
    if workflow is None:
        return condition(value, sqlite=sqlite)
    if conn.execute(select(_like(literal(workflow, _E.c.workflow_name.type), value, sqlite))).scalar():
        return true()
    return or_(_like(_E.c.id, value, sqlite), _like(_E.c.error_message, value, sqlite))


def plan_for_this_text(conn: Connection, *, sqlite: bool) -> None:
    """PostgreSQL: plan this transaction's queries for their own pattern. psycopg prepares a
    statement run five times, and the server may then keep one generic plan for all
    patterns: a walk along the page order (fine for a common text, every row for a rare one)
    or the trigram index (every match for a common one, and all of it for a short text)."""
    if not sqlite and (conn.dialect.server_version_info or (0,)) >= (12,):
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


def _phrase(value: str) -> str:
    """An FTS5 query for `value` as one literal phrase (inside quotes only `"` is special)."""
    return '"' + value.replace('"', '""') + '"'


def _indexed_sqlite(conn: Connection, value: str | None, sqlite: bool) -> bool:
    """Whether the FTS table can narrow this text: revision 0003 built it (an SQLite without
    FTS5 or trigram did not) and the text has trigrams."""
    if not (sqlite and value and len(value) >= MIN_INDEXED and "\x00" not in value):
        return False
    found = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (FTS_TABLE,)
    ).first()
    return found is not None


def _by_id_or_error(value: str) -> ColumnElement[bool]:
    rows = text(_MATCH).bindparams(fts_query=_phrase(value)).columns(column("rowid", Integer))
    return _ROWID.in_(rows)


def list_source(
    conn: Connection, value: str | None, *, sqlite: bool, statuses: Sequence[str] | None = None,
    workflow: str | None = None,
) -> FromClause:
    """What a list page reads: `executions`, or only the text's candidate rows when they are few.

    Candidates: the executions of the workflows whose name holds the text, and the FTS
    matches of id and error message. With many of them the planner's walk along the page
    order, stopping at the page's last row, is cheaper than reading and sorting them all.
    The day totals only estimate how many there are. The candidates are a subquery with a
    LIMIT, which SQLite neither merges into the page's query nor pushes its filters into:
    without statistics it takes `status = ?` for a few rows and would walk that index,
    probing each row against the candidates, instead of reading just them.
    """
    if not value or not _indexed_sqlite(conn, value, sqlite):
        return _E
    names = [str(n) for n in conn.execute(_WORKFLOWS, {"pattern": pattern(value)}).scalars()]
    if workflow is not None:
        names = [n for n in names if n == workflow]
    if len(names) > _MAX_NAMES:  # a text in that many workflow names is no rare one
        return _E
    most = LIST_CANDIDATES
    if names:
        stat_where = [_S.c.workflow_name.in_(names)]
        if statuses:
            stat_where.append(_S.c.status.in_(list(statuses)))
        most -= int(conn.execute(select(func.coalesce(func.sum(_S.c.executions), 0)).where(*stat_where)).scalar_one())
    if most <= 0:
        return _E
    # Fetched here, not matched again in the page's query: a long text's phrase costs more
    # than reading back its few rowids (at most LIST_CANDIDATES bound values; SQLite 3.34,
    # the first with trigrams, takes 32,766).
    rowids = list(conn.execute(text(f"{_MATCH} LIMIT :most"), {"fts_query": _phrase(value), "most": most}).scalars())
    if len(rowids) >= most:
        return _E
    by_id_or_error = _ROWID.in_(rowids)
    narrowing = or_(_E.c.workflow_name.in_(names), by_id_or_error) if names else by_id_or_error
    return select(_E).where(narrowing).limit(-1).subquery("candidates")


class SummaryParts(NamedTuple):
    """The text filter split so that matches by workflow name come from the day totals:
    `stats` and `by_workflow` pick the same executions (in `executions_stats` and in
    `executions`); `rest`, read from `rest_source`, those matching only by id or error."""

    stats: ColumnElement[bool]
    by_workflow: ColumnElement[bool]
    rest: ColumnElement[bool]
    rest_source: FromClause


def summary_parts(
    conn: Connection, value: str, *, sqlite: bool, since: datetime | None = None, until: datetime | None = None
) -> SummaryParts | None:
    """The split, or None on an SQLite where no index would find the rest (the summary then
    scans every row as before). On PostgreSQL the trigram index finds the rest, if it exists.
    On SQLite the rest is read from the FTS candidates (a subquery with a LIMIT, for the
    reason `list_source` gives), unless a date range holds fewer executions than there are
    candidates: then that range is read, as before the index."""
    plan_for_this_text(conn, sqlite=sqlite)
    if sqlite and not _indexed_sqlite(conn, value, sqlite):
        return None
    rest = and_(
        not_(_like(_E.c.workflow_name, value, sqlite)),
        or_(_like(_E.c.id, value, sqlite), _like(_E.c.error_message, value, sqlite)),
    )
    source: FromClause = _E
    if sqlite and not _range_is_smaller(conn, value, since, until):
        columns = (_E.c[name] for name in _SUMMARY_COLUMNS)
        source = select(*columns).where(_by_id_or_error(value)).limit(-1).subquery("candidates")
    return SummaryParts(
        stats=_like(_S.c.workflow_name, value, sqlite),
        by_workflow=_like(_E.c.workflow_name, value, sqlite),
        rest=rest,
        rest_source=source,
    )


def _range_is_smaller(conn: Connection, value: str, since: datetime | None, until: datetime | None) -> bool:
    """Whether reading the days of [since, until) costs less than reading the text's FTS
    candidates: a range is read in insertion order along the `started_at` index, about
    five times faster per row than candidates spread over the whole table."""
    if since is None and until is None:
        return False
    days = []
    if since is not None:
        days.append(_S.c.day >= since.date())
    if until is not None:
        days.append(_S.c.day <= until.date())
    in_range = int(conn.execute(select(func.coalesce(func.sum(_S.c.executions), 0)).where(*days)).scalar_one())
    most = in_range // _RANGE_SPEEDUP + 1
    found = conn.execute(
        text(f"SELECT count(*) FROM ({_MATCH} LIMIT :most)"), {"fts_query": _phrase(value), "most": most}
    ).scalar_one()
    return bool(found >= most)
