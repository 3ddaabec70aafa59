"""File tools confined to the workspace: read_file, write_file, glob_files, move_file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from cagents.tools.context import ToolContext
from cagents.tools.schema_from_hints import tool_from_function
from cagents.tools.tool import Tool, ToolFailure

__all__ = ["TOOLS", "resolve_in_workspace"]

MAX_READ_BYTES = 1_000_000
MAX_WRITE_BYTES = 10_000_000
MAX_GLOB_MATCHES = 1_000


def resolve_in_workspace(ctx: ToolContext, path: str, *, what: str = "path") -> Path:
    """`path` (relative to the workspace) resolved with symlinks followed; refused if it leaves."""
    if not path or not path.strip():
        raise ToolFailure(f"{what} is empty; give a path relative to the workspace")
    if "\x00" in path:
        raise ToolFailure(f"{what} contains a NUL character")
    root = ctx.workspace
    if not root.is_dir():
        raise ToolFailure(f"the workspace {root} does not exist; set CAGENTS_WORKSPACE to a folder")
    resolved = (root / path).resolve()
    if resolved != root and not resolved.is_relative_to(root):
        raise ToolFailure(f"{what} {path!r} is outside the workspace; use a path inside {root}")
    return resolved


def _relative(ctx: ToolContext, path: Path) -> str:
    return path.relative_to(ctx.workspace).as_posix() or "."


def read_file(path: str, *, ctx: ToolContext) -> dict[str, Any]:
    """Read a text file from the workspace (the first 1 MB of it).

    Args:
        path: File path relative to the workspace.
    """
    target = resolve_in_workspace(ctx, path)
    if target.is_dir():
        raise ToolFailure(f"{path!r} is a directory; use glob_files to list it")
    if not target.is_file():
        raise ToolFailure(f"{path!r} does not exist in the workspace")
    size = target.stat().st_size
    with target.open("rb") as handle:
        data = handle.read(MAX_READ_BYTES)
    if b"\x00" in data[:8192]:
        raise ToolFailure(f"{path!r} looks like a binary file; read_file reads text")
    result: dict[str, Any] = {
        "path": _relative(ctx, target),
        "content": data.decode("utf-8", errors="replace"),
        "size": size,
        "truncated": size > MAX_READ_BYTES,
    }
    if result["truncated"]:
        result["note"] = f"only the first {MAX_READ_BYTES} of {size} bytes were read"
    return result


def write_file(
    path: str, content: str, append: bool = False, *, ctx: ToolContext
) -> dict[str, Any]:
    """Write text to a file in the workspace, creating folders as needed.

    Args:
        path: File path relative to the workspace.
        content: The text to write.
        append: Add to the end of the file instead of replacing it.
    """
    data = content.encode("utf-8")
    if len(data) > MAX_WRITE_BYTES:
        raise ToolFailure(
            f"content is {len(data)} bytes; write_file takes at most {MAX_WRITE_BYTES}"
        )
    target = resolve_in_workspace(ctx, path)
    if target.is_dir():
        raise ToolFailure(f"{path!r} is a directory; give a file path")
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("ab" if append else "wb") as handle:
        handle.write(data)
    return {"path": _relative(ctx, target), "bytes_written": len(data), "appended": append}


def glob_files(pattern: str, *, ctx: ToolContext) -> dict[str, Any]:
    """List workspace files matching a glob pattern such as `**/*.csv`.

    Args:
        pattern: Glob pattern relative to the workspace; `**` matches any folder depth.
    """
    if not pattern.strip():
        raise ToolFailure("pattern is empty; try '*' or '**/*.txt'")
    pure = PurePosixPath(pattern)
    if pure.is_absolute() or Path(pattern).is_absolute() or ".." in pure.parts:
        raise ToolFailure(f"pattern {pattern!r} must stay inside the workspace (relative, no '..')")
    root = resolve_in_workspace(ctx, ".")
    matches: list[str] = []
    truncated = False
    for found in root.glob(pattern):
        try:
            resolved = found.resolve()
        except OSError:
            continue
        if resolved != root and not resolved.is_relative_to(root):
            continue  # a symlink pointing out of the workspace
        if len(matches) >= MAX_GLOB_MATCHES:
            truncated = True
            break
        matches.append(found.relative_to(root).as_posix())
    result: dict[str, Any] = {"matches": sorted(matches), "truncated": truncated}
    if truncated:
        result["note"] = f"only the first {MAX_GLOB_MATCHES} matches are listed; narrow the pattern"
    return result


def move_file(
    source: str, destination: str, overwrite: bool = False, *, ctx: ToolContext
) -> dict[str, Any]:
    """Move or rename a file or folder inside the workspace.

    Args:
        source: Existing path relative to the workspace.
        destination: New path relative to the workspace.
        overwrite: Replace an existing file at the destination.
    """
    src = resolve_in_workspace(ctx, source, what="source")
    dst = resolve_in_workspace(ctx, destination, what="destination")
    if src == ctx.workspace:
        raise ToolFailure("the workspace itself cannot be moved")
    if not os.path.lexists(src):
        raise ToolFailure(f"source {source!r} does not exist in the workspace")
    if dst.is_dir():
        dst = dst / src.name
    if os.path.lexists(dst) and not overwrite:
        raise ToolFailure(f"destination {destination!r} exists; pass overwrite=true to replace it")
    if dst.is_relative_to(src):
        raise ToolFailure("cannot move a folder inside itself")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(src), str(dst))
    return {"source": _relative(ctx, src), "destination": _relative(ctx, dst)}


TOOLS: tuple[Tool, ...] = (
    tool_from_function(read_file),
    tool_from_function(write_file),
    tool_from_function(glob_files),
    tool_from_function(move_file),
)
