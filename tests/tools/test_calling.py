"""call_tool: argument checks, the unsafe allowlist, timeouts, error wrapping, JSON results."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from cagents.errors import ToolError
from cagents.tools import (
    Tool,
    ToolContext,
    ToolFailure,
    call_tool,
    default_registry,
    tool_from_function,
)
from cagents.tools.argcheck import check_arguments


def book(
    title: str, copies: int = 1, tags: list[str] | None = None, shelf: dict[str, int] | None = None
) -> dict[str, Any]:
    """Book a title."""
    return {"title": title, "copies": copies, "tags": tags or [], "shelf": shelf}


BOOK = tool_from_function(book)


async def test_valid_arguments_pass(ctx: ToolContext) -> None:
    result = await call_tool(BOOK, {"title": "Dune", "copies": 2, "tags": ["sf"]}, ctx)
    assert result == {"title": "Dune", "copies": 2, "tags": ["sf"], "shelf": None}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "missing required argument 'title'"),
        ({"title": "x", "copis": 2}, "unknown argument 'copis' (did you mean 'copies'?)"),
        ({"title": 3}, "argument 'title': expected string, got integer"),
        ({"title": "x", "copies": "2"}, "argument 'copies': expected integer, got string"),
        ({"title": "x", "copies": True}, "argument 'copies': expected integer, got boolean"),
        ({"title": "x", "copies": 1.5}, "argument 'copies': expected integer, got number"),
        ({"title": "x", "tags": ["a", 2]}, "argument 'tags'"),
        ({"title": "x", "shelf": {"a": "b"}}, "argument 'shelf'"),
    ],
)
async def test_bad_arguments_are_named(
    args: dict[str, Any], message: str, ctx: ToolContext
) -> None:
    with pytest.raises(ToolError) as caught:
        await call_tool(BOOK, args, ctx)
    assert str(caught.value).startswith("tool 'book': ")
    assert message in str(caught.value)


def test_checker_reports_nested_paths() -> None:
    schema = {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"n": {"type": "integer"}},
                    "required": ["n"],
                    "additionalProperties": False,
                },
            },
            "mode": {"enum": ["a", "b"]},
            "count": {"type": "integer", "minimum": 1, "maximum": 3},
        },
    }
    problems = check_arguments(
        schema, {"items": [{"n": 1}, {"n": "x"}, {}], "mode": "c", "count": 9}
    )
    assert "argument 'items[1].n': expected integer, got string" in problems
    assert "missing required argument 'items[2].n'" in problems
    assert "argument 'mode': 'c' is not one of 'a', 'b'" in problems
    assert "argument 'count': 9 is above the maximum 3" in problems


async def test_arguments_must_be_an_object(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="arguments must be a JSON object, got array"):
        await call_tool(BOOK, ["Dune"], ctx)  # type: ignore[arg-type]


async def test_unsafe_tools_need_the_allowlist(ctx: ToolContext) -> None:
    shell = default_registry().get("shell")
    with pytest.raises(ToolError) as caught:
        await call_tool(shell, {"command": "echo hi"}, ctx)
    assert str(caught.value) == (
        "tool 'shell': this tool is unsafe and not allowed; "
        "add 'shell' to config.tools.allow to enable it"
    )
    allowed = await call_tool(shell, {"command": "echo hi"}, ctx.with_allow(["shell"]))
    assert allowed["stdout"] == "hi\n"


async def test_exceptions_become_tool_errors(ctx: ToolContext) -> None:
    def explode(x: int) -> int:
        """Fail."""
        raise KeyError("boom")

    def refuse(x: int) -> int:
        """Refuse."""
        raise ToolFailure("no, because reasons")

    with pytest.raises(ToolError, match=r"tool 'explode': failed: KeyError: 'boom'") as caught:
        await call_tool(tool_from_function(explode), {"x": 1}, ctx)
    assert isinstance(caught.value.__cause__, KeyError)
    with pytest.raises(ToolError) as refused:
        await call_tool(tool_from_function(refuse), {"x": 1}, ctx)
    assert str(refused.value) == "tool 'refuse': no, because reasons"


async def test_tool_failure_is_reported_under_the_alias_used(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="^tool 'file_read': "):
        await call_tool(default_registry().get("file_read"), {"path": "missing.txt"}, ctx)


async def test_sync_tools_run_in_a_worker_thread(ctx: ToolContext) -> None:
    def where() -> str:
        """Name the thread."""
        return threading.current_thread().name

    name = await call_tool(tool_from_function(where), {}, ctx)
    assert name != threading.current_thread().name


async def test_timeout_is_enforced(ctx: ToolContext) -> None:
    async def slow() -> None:
        """Sleep long."""
        await asyncio.sleep(60)

    with pytest.raises(ToolError, match="timed out after 0.2s"):
        await call_tool(tool_from_function(slow), {}, replace(ctx, timeout=0.2))


async def test_a_tools_own_timeout_error_is_not_confused_with_ours(ctx: ToolContext) -> None:
    def inner() -> None:
        """Time out inside."""
        raise TimeoutError("socket read")

    with pytest.raises(ToolError, match="timed out inside the tool: socket read"):
        await call_tool(tool_from_function(inner), {}, ctx)


@dataclass
class Point:
    x: int
    y: int


async def test_results_are_converted_to_json(ctx: ToolContext) -> None:
    def produce() -> Any:
        """Produce values."""
        return {
            "when": dt.date(2024, 1, 2),
            "where": Path("a/b"),
            "pt": Point(1, 2),
            "tuple": (1, 2),
            "raw": b"\x00\x01",
            3: "int key",
        }

    result = await call_tool(tool_from_function(produce), {}, ctx)
    assert result == {
        "when": "2024-01-02",
        "where": "a/b",
        "pt": {"x": 1, "y": 2},
        "tuple": [1, 2],
        "raw": "AAE=",
        "3": "int key",
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (object(), r"\$ is a object"),
        ({"a": [1, math.nan]}, r"\$\.a\[1\] is nan"),
        ({"f": print}, r"\$\.f is a builtin_function_or_method"),
    ],
)
async def test_non_json_results_are_refused_clearly(
    value: Any, message: str, ctx: ToolContext
) -> None:
    tool = Tool("give", "Give.", {"type": "object", "properties": {}}, lambda args, c: value)
    with pytest.raises(
        ToolError, match=f"tool 'give': returned a result that is not JSON: {message}"
    ):
        await call_tool(tool, {}, ctx)


async def test_cyclic_results_are_refused(ctx: ToolContext) -> None:
    loop: list[Any] = []
    loop.append(loop)
    tool = Tool("cyc", "Cycle.", {"type": "object"}, lambda args, c: loop)
    with pytest.raises(ToolError, match="contains itself"):
        await call_tool(tool, {}, ctx)


def test_context_defaults_and_secrets_stay_out_of_repr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAGENTS_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("SOME_API_KEY", "sk-hidden")
    context = ToolContext()
    assert context.workspace == tmp_path.resolve()
    assert context.env["SOME_API_KEY"] == "sk-hidden"
    assert "sk-hidden" not in repr(context)
    assert context.allow == frozenset()
    assert ToolContext(workspace=tmp_path, allow=["shell"]).allow == frozenset({"shell"})
    with pytest.raises(ValueError, match="timeout"):
        ToolContext(workspace=tmp_path, timeout=0)
