"""`call_tool`: the one way a tool runs (arguments checked, allowlist enforced, errors wrapped)."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Mapping
from typing import Any

from cagents.errors import ToolError
from cagents.tools.argcheck import check_arguments, json_type_name
from cagents.tools.context import ToolContext
from cagents.tools.jsonvalue import NotJSONError, to_json_value
from cagents.tools.tool import Tool, ToolFailure

__all__ = ["call_tool"]


async def call_tool(tool: Tool, args: Mapping[str, Any], ctx: ToolContext) -> Any:
    """Run `tool` with `args` under `ctx` and return a JSON-serialisable result.

    Every failure becomes a `ToolError` naming the tool: unsafe tools not in `ctx.allow`,
    bad arguments (each named), timeouts (`ctx.timeout`), exceptions of the tool itself and
    results that are not JSON. Sync functions run in a worker thread so the loop stays free.
    """
    if tool.unsafe and tool.name not in ctx.allow:
        raise ToolError(
            tool.name,
            f"this tool is unsafe and not allowed; add '{tool.name}' to config.tools.allow "
            "to enable it",
        )
    if type(args) is not dict and not isinstance(args, Mapping):
        raise ToolError(tool.name, f"arguments must be a JSON object, got {json_type_name(args)}")
    problems = check_arguments(tool.parameters, args)
    if problems:
        raise ToolError(tool.name, "; ".join(problems))
    try:
        result = await _with_timeout(_invoke(tool, dict(args), ctx), ctx.timeout)
    except ToolError:
        raise
    except ToolFailure as exc:
        raise ToolError(tool.name, str(exc)) from exc
    except asyncio.TimeoutError as exc:
        raise ToolError(tool.name, f"timed out after {ctx.timeout:g}s") from exc
    except Exception as exc:
        detail = str(exc) or "no detail"
        raise ToolError(tool.name, f"failed: {type(exc).__name__}: {detail}") from exc
    try:
        return to_json_value(result)
    except NotJSONError as exc:
        raise ToolError(tool.name, f"returned a result that is not JSON: {exc}") from exc


@functools.lru_cache(maxsize=4096)
def _is_async(func: Any) -> bool:
    """Whether a tool function is a coroutine function (asked on every call, so cached)."""
    return inspect.iscoroutinefunction(func)


async def _with_timeout(coro: Any, seconds: float) -> Any:
    """Await `coro`, cancelling it after `seconds` (raises asyncio.TimeoutError).

    A bare timer on the current task: it costs a fraction of `asyncio.timeout`, which
    matters because every tool call of every node goes through here.
    """
    task = asyncio.current_task()
    if task is None:  # pragma: no cover - always called from a task
        return await asyncio.wait_for(coro, timeout=seconds)
    fired: list[bool] = []

    def expire() -> None:
        fired.append(True)
        task.cancel()

    handle = asyncio.get_running_loop().call_later(seconds, expire)
    try:
        return await coro
    except asyncio.CancelledError:
        if fired and (not hasattr(task, "uncancel") or task.uncancel() == 0):
            raise asyncio.TimeoutError() from None
        raise
    finally:
        handle.cancel()


async def _invoke(tool: Tool, args: dict[str, Any], ctx: ToolContext) -> Any:
    try:
        if _is_async(tool.func):
            return await tool.func(args, ctx)
        result = await asyncio.to_thread(tool.func, args, ctx)
        if inspect.isawaitable(result):
            return await result
        return result
    except TimeoutError as exc:
        # The tool's own timeout, told apart from the one `call_tool` enforces.
        raise ToolFailure(f"timed out inside the tool: {exc or 'no detail'}") from exc
