"""File tools stay inside the workspace; reads are capped; writes create folders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from cagents.errors import ToolError
from cagents.tools import ToolContext, call_tool, default_registry


async def run(name: str, ctx: ToolContext, **args: Any) -> Any:
    return await call_tool(default_registry().get(name), args, ctx)


async def test_write_then_read_round_trip(ctx: ToolContext, workspace: Path) -> None:
    written = await run("write_file", ctx, path="notes/day1/todo.txt", content="buy milk\n")
    assert written == {"path": "notes/day1/todo.txt", "bytes_written": 9, "appended": False}
    await run("write_file", ctx, path="notes/day1/todo.txt", content="call mum\n", append=True)
    assert (workspace / "notes/day1/todo.txt").read_text() == "buy milk\ncall mum\n"
    read = await run("read_file", ctx, path="notes/day1/todo.txt")
    assert read == {
        "path": "notes/day1/todo.txt",
        "content": "buy milk\ncall mum\n",
        "size": 18,
        "truncated": False,
    }


async def test_file_read_alias_works_like_read_file(ctx: ToolContext, workspace: Path) -> None:
    (workspace / "a.txt").write_text("alias")
    assert (await run("file_read", ctx, path="a.txt"))["content"] == "alias"


async def test_read_is_capped(ctx: ToolContext, workspace: Path) -> None:
    (workspace / "big.txt").write_bytes(b"a" * 1_500_000)
    result = await run("read_file", ctx, path="big.txt")
    assert result["truncated"] is True
    assert len(result["content"]) == 1_000_000
    assert result["size"] == 1_500_000
    assert "first 1000000 of 1500000 bytes" in result["note"]


async def test_read_refuses_binary_missing_and_directories(
    ctx: ToolContext, workspace: Path
) -> None:
    (workspace / "img.bin").write_bytes(b"\x89PNG\x00\x00data")
    (workspace / "sub").mkdir()
    with pytest.raises(ToolError, match="binary"):
        await run("read_file", ctx, path="img.bin")
    with pytest.raises(ToolError, match="does not exist"):
        await run("read_file", ctx, path="nope.txt")
    with pytest.raises(ToolError, match="is a directory"):
        await run("read_file", ctx, path="sub")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("top secret")
    return secret


@pytest.mark.parametrize("tool", ["read_file", "write_file"])
async def test_workspace_escapes_are_refused(
    tool: str, ctx: ToolContext, workspace: Path, outside: Path
) -> None:
    (workspace / "link").symlink_to(outside.parent, target_is_directory=True)
    (workspace / "file_link.txt").symlink_to(outside)
    attempts = [
        "../outside/secret.txt",
        str(outside),
        "link/secret.txt",
        "file_link.txt",
        "sub/../../outside/secret.txt",
    ]
    for path in attempts:
        args: dict[str, Any] = {"path": path}
        if tool == "write_file":
            args["content"] = "overwritten"
        with pytest.raises(ToolError, match="outside the workspace"):
            await call_tool(default_registry().get(tool), args, ctx)
    assert outside.read_text() == "top secret"


async def test_absolute_path_inside_the_workspace_is_fine(
    ctx: ToolContext, workspace: Path
) -> None:
    (workspace / "in.txt").write_text("inside")
    assert (await run("read_file", ctx, path=str(workspace / "in.txt")))["content"] == "inside"


async def test_glob_lists_workspace_files_only(
    ctx: ToolContext, workspace: Path, outside: Path
) -> None:
    for name in ("a.csv", "data/b.csv", "data/deep/c.csv", "data/notes.txt"):
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text("x")
    (workspace / "escape.csv").symlink_to(outside)
    result = await run("glob_files", ctx, pattern="**/*.csv")
    assert result == {"matches": ["a.csv", "data/b.csv", "data/deep/c.csv"], "truncated": False}
    assert (await run("file_glob", ctx, pattern="data/*.txt"))["matches"] == ["data/notes.txt"]
    for pattern in ("../*", "/etc/*", "data/../../*"):
        with pytest.raises(ToolError, match="must stay inside the workspace"):
            await run("glob_files", ctx, pattern=pattern)


async def test_move_file(ctx: ToolContext, workspace: Path, outside: Path) -> None:
    (workspace / "draft.md").write_text("v1")
    (workspace / "archive").mkdir()
    moved = await run("move_file", ctx, source="draft.md", destination="final/report.md")
    assert moved == {"source": "draft.md", "destination": "final/report.md"}
    assert (workspace / "final/report.md").read_text() == "v1"
    assert not (workspace / "draft.md").exists()
    assert (await run("move_file", ctx, source="final/report.md", destination="archive"))[
        "destination"
    ] == "archive/report.md"
    (workspace / "other.md").write_text("v2")
    with pytest.raises(ToolError, match="exists; pass overwrite=true"):
        await run("move_file", ctx, source="other.md", destination="archive/report.md")
    await run("move_file", ctx, source="other.md", destination="archive/report.md", overwrite=True)
    assert (workspace / "archive/report.md").read_text() == "v2"
    with pytest.raises(ToolError, match="outside the workspace"):
        await run("move_file", ctx, source="archive/report.md", destination="../stolen.md")
    with pytest.raises(ToolError, match="outside the workspace"):
        await run("move_file", ctx, source=str(outside), destination="got.txt")
    with pytest.raises(ToolError, match="cannot be moved"):
        await run("move_file", ctx, source=".", destination="x")
    assert outside.exists()
    assert os.listdir(outside.parent) == ["secret.txt"]


async def test_missing_workspace_is_reported(tmp_path: Path) -> None:
    ctx = ToolContext(workspace=tmp_path / "nope", env={})
    with pytest.raises(ToolError, match="workspace .* does not exist"):
        await run("read_file", ctx, path="a.txt")
