"""Data tools: read-only `sql_query` on a workspace SQLite file, `json_parse`, `yaml_parse`."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

from cagents.tools.context import ToolContext
from cagents.tools.files import resolve_in_workspace
from cagents.tools.jsonvalue import NotJSONError, to_json_value
from cagents.tools.schema_from_hints import tool_from_function
from cagents.tools.tool import Tool, ToolFailure

__all__ = ["TOOLS"]

MAX_ROWS = 1_000
MAX_TEXT_BYTES = 1_000_000
MAX_PARSED_VALUES = 100_000
#: PRAGMAs that only describe the schema (their argument is a table or index name);
#: every other PRAGMA is refused.
_READ_PRAGMAS = {
    "table_info",
    "table_xinfo",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "table_list",
    "database_list",
    "collation_list",
}


def _authorizer(
    action: int, arg1: str | None, arg2: str | None, _db: str | None, _view: str | None
) -> int:
    """Allow reading only: SELECT, reads, functions, CTEs and schema-describing PRAGMAs."""
    import sqlite3

    allowed = {
        sqlite3.SQLITE_SELECT,
        sqlite3.SQLITE_READ,
        sqlite3.SQLITE_FUNCTION,
        getattr(sqlite3, "SQLITE_RECURSIVE", 33),
    }
    if action in allowed:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in _READ_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def sql_query(
    database: str,
    query: str,
    params: list[str | int | float | bool | None] | None = None,
    *,
    ctx: ToolContext,
) -> dict[str, Any]:
    """Run one read-only SQL query on a SQLite database file in the workspace.

    Args:
        database: SQLite file path relative to the workspace.
        query: One SELECT statement; use ? placeholders for values.
        params: Values for the ? placeholders, in order.
    """
    import sqlite3

    path = resolve_in_workspace(ctx, database, what="database")
    if not path.is_file():
        raise ToolFailure(f"database {database!r} does not exist in the workspace")
    if not sqlite3.complete_statement(query.strip().rstrip(";") + ";"):
        raise ToolFailure("query is not a complete SQL statement")
    try:
        connection = sqlite3.connect(
            f"file:{quote(str(path))}?mode=ro", uri=True, timeout=ctx.timeout
        )
    except sqlite3.Error as exc:
        raise ToolFailure(f"cannot open database {database!r}: {exc}") from exc
    deadline = time.monotonic() + ctx.timeout
    try:
        connection.execute("PRAGMA query_only=ON")
        connection.set_authorizer(_authorizer)
        connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        cursor = connection.execute(query, list(params or []))
        columns = [column[0] for column in cursor.description or []]
        rows = cursor.fetchmany(MAX_ROWS + 1)
    except sqlite3.Warning as exc:
        raise ToolFailure(f"only a single statement is allowed: {exc}") from exc
    except sqlite3.Error as exc:
        raise ToolFailure(_sql_message(exc)) from exc
    finally:
        connection.close()
    truncated = len(rows) > MAX_ROWS
    result: dict[str, Any] = {
        "columns": columns,
        "rows": [list(row) for row in rows[:MAX_ROWS]],
        "truncated": truncated,
    }
    if truncated:
        result["note"] = f"only the first {MAX_ROWS} rows are returned; add LIMIT or filters"
    return result


def _sql_message(exc: Exception) -> str:
    text = str(exc)
    if "not authorized" in text or "readonly" in text or "read-only" in text:
        return f"sql_query is read-only; only SELECT statements are allowed ({text})"
    if "interrupted" in text:
        return "the query took too long and was interrupted; add filters or LIMIT"
    if "one statement" in text:
        return f"only a single statement is allowed ({text})"
    return f"SQLite error: {text}"


def _check_size(text: str) -> None:
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise ToolFailure(f"text is larger than {MAX_TEXT_BYTES} bytes")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_parse(text: str) -> Any:
    """Parse JSON text into data.

    Args:
        text: The JSON document.
    """
    _check_size(text)
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ToolFailure(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise ToolFailure(f"invalid JSON: {exc}") from exc


def yaml_parse(text: str) -> Any:
    """Parse YAML text (safe subset) into data.

    Args:
        text: The YAML document.
    """
    import yaml

    _check_size(text)
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ToolFailure(f"invalid YAML{where}: {exc.problem or exc}") from exc
    except (yaml.YAMLError, RecursionError) as exc:
        raise ToolFailure(f"invalid YAML: {exc}") from exc
    try:
        return to_json_value(data, max_nodes=MAX_PARSED_VALUES)
    except NotJSONError as exc:
        raise ToolFailure(f"YAML cannot become JSON data: {exc}") from exc


TOOLS: tuple[Tool, ...] = (
    tool_from_function(sql_query),
    tool_from_function(json_parse),
    tool_from_function(yaml_parse),
)
