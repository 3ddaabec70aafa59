"""sql_query is read-only and confined; json_parse and yaml_parse are safe and capped."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cagents.errors import ToolError
from cagents.tools import ToolContext, call_tool, default_registry


async def run(name: str, ctx: ToolContext, **args: Any) -> Any:
    return await call_tool(default_registry().get(name), args, ctx)


@pytest.fixture
def shop(workspace: Path) -> Path:
    path = workspace / "db" / "shop.sqlite"
    path.parent.mkdir()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL, img BLOB)")
        db.executemany(
            "INSERT INTO items (name, price, img) VALUES (?, ?, ?)",
            [(f"item{i}", i * 1.5, b"\x01\x02") for i in range(1, 1206)],
        )
    db.close()
    return path


async def test_select_with_params(ctx: ToolContext, shop: Path) -> None:
    result = await run(
        "sql_query",
        ctx,
        database="db/shop.sqlite",
        query="SELECT id, name, price, img FROM items WHERE price > ? ORDER BY id LIMIT 2",
        params=[3],
    )
    assert result == {
        "columns": ["id", "name", "price", "img"],
        "rows": [[3, "item3", 4.5, "AQI="], [4, "item4", 6.0, "AQI="]],
        "truncated": False,
    }


async def test_rows_are_capped(ctx: ToolContext, shop: Path) -> None:
    result = await run("sql_query", ctx, database="db/shop.sqlite", query="SELECT id FROM items")
    assert len(result["rows"]) == 1000
    assert result["truncated"] is True
    assert "first 1000 rows" in result["note"]


async def test_schema_pragmas_are_allowed(ctx: ToolContext, shop: Path) -> None:
    result = await run(
        "sql_query", ctx, database="db/shop.sqlite", query="PRAGMA table_info(items)"
    )
    assert [row[1] for row in result["rows"]] == ["id", "name", "price", "img"]


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM items",
        "UPDATE items SET price = 0",
        "INSERT INTO items (name) VALUES ('x')",
        "DROP TABLE items",
        "CREATE TABLE t (x)",
        "ATTACH DATABASE 'other.sqlite' AS other",
        "PRAGMA query_only=OFF",
        "PRAGMA journal_mode=DELETE",
        "WITH x AS (SELECT 1) DELETE FROM items",
    ],
)
async def test_writes_are_refused(
    query: str, ctx: ToolContext, shop: Path, workspace: Path
) -> None:
    with pytest.raises(ToolError, match="read-only|not authorized"):
        await run("sql_query", ctx, database="db/shop.sqlite", query=query)
    with sqlite3.connect(shop) as db:
        assert db.execute("SELECT count(*), sum(price) FROM items").fetchone()[0] == 1205
    db.close()
    assert not (workspace / "other.sqlite").exists()


async def test_only_one_statement(ctx: ToolContext, shop: Path) -> None:
    with pytest.raises(ToolError, match="single statement"):
        await run("sql_query", ctx, database="db/shop.sqlite", query="SELECT 1; DELETE FROM items")


async def test_database_must_be_in_the_workspace(ctx: ToolContext, tmp_path: Path) -> None:
    outside = tmp_path / "outside.sqlite"
    sqlite3.connect(outside).close()
    with pytest.raises(ToolError, match="outside the workspace"):
        await run("sql_query", ctx, database="../outside.sqlite", query="SELECT 1")
    with pytest.raises(ToolError, match="does not exist"):
        await run("sql_query", ctx, database="missing.sqlite", query="SELECT 1")


async def test_sql_errors_are_readable(ctx: ToolContext, shop: Path) -> None:
    with pytest.raises(ToolError, match="SQLite error: no such table: nope"):
        await run("sql_query", ctx, database="db/shop.sqlite", query="SELECT * FROM nope")


async def test_json_parse(ctx: ToolContext) -> None:
    assert await run("json_parse", ctx, text='{"a": [1, 2.5, null, true]}') == {
        "a": [1, 2.5, None, True]
    }
    with pytest.raises(ToolError, match="invalid JSON at line 2, column 1"):
        await run("json_parse", ctx, text='{"a": 1,\n}')
    with pytest.raises(ToolError, match="NaN is not valid JSON"):
        await run("json_parse", ctx, text="[NaN]")
    with pytest.raises(ToolError, match="larger than"):
        await run("json_parse", ctx, text="[" + "1," * 600_000 + "1]")


async def test_yaml_parse(ctx: ToolContext) -> None:
    text = "name: demo\nwhen: 2024-01-02\ncount: 3\ntags: [a, b]\n1: one\n"
    assert await run("yaml_parse", ctx, text=text) == {
        "name": "demo",
        "when": "2024-01-02",
        "count": 3,
        "tags": ["a", "b"],
        "1": "one",
    }
    with pytest.raises(ToolError, match="invalid YAML at line 2"):
        await run("yaml_parse", ctx, text="a: [1,\nb: }")


async def test_yaml_is_safe_loaded(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="invalid YAML"):
        await run("yaml_parse", ctx, text="!!python/object/apply:os.system ['echo hi']")


async def test_yaml_alias_bombs_are_refused(ctx: ToolContext) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 9) + "]\n"
    with pytest.raises(ToolError, match="too large"):
        await run("yaml_parse", ctx, text=bomb)
