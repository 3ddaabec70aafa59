"""Run the tool calls a model asked for and turn each outcome into a tool message.

Every failure (unknown tool, arguments that are not a JSON object, a tool that raises) is
fed back to the model as an error result, so it can correct itself, and is recorded.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

from cagents.llm.request import StopToolLoop, ToolBinding, ToolCallRecord

__all__ = ["run_tool_calls"]


class _BadCall(Exception):
    """The call cannot be made as asked; the message goes back to the model."""


def _arguments(raw: str | None) -> dict[str, Any]:
    text = (raw or "").strip() or "{}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        shown = text if len(text) <= 200 else text[:200] + "..."
        raise _BadCall(f"arguments are not valid JSON ({exc.msg}): {shown}") from None
    if not isinstance(value, dict):
        raise _BadCall(f"arguments must be a JSON object, got {type(value).__name__}")
    return value


def _as_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    return json.dumps(result, ensure_ascii=False, default=str)


async def _run_one(call: dict[str, Any], tools: dict[str, ToolBinding]) -> tuple[dict[str, Any], ToolCallRecord]:
    function = call.get("function", {})
    name = function.get("name") or ""
    arguments: dict[str, Any] = {}
    result: Any = None
    error: str | None = None
    started = time.perf_counter()
    try:
        binding = tools.get(name)
        if binding is None:
            available = ", ".join(sorted(tools)) or "none"
            raise _BadCall(f"unknown tool '{name}'; available tools: {available}")
        arguments = _arguments(function.get("arguments"))
        result = await binding.call(arguments)
    except _BadCall as exc:
        error = str(exc)
    except StopToolLoop:
        raise
    except Exception as exc:  # a failing tool is reported to the model, not fatal
        error = f"{type(exc).__name__}: {exc}"
    record = ToolCallRecord(name, arguments, result, error, time.perf_counter() - started)
    content = json.dumps({"error": error}) if error is not None else _as_text(result)
    return {"role": "tool", "tool_call_id": call["id"], "content": content}, record


async def run_tool_calls(
    calls: Sequence[dict[str, Any]], tools: Sequence[ToolBinding]
) -> list[tuple[dict[str, Any], ToolCallRecord]]:
    """Run one round of calls concurrently; results keep the order of the calls."""
    by_name = {tool.name: tool for tool in tools}
    return list(await asyncio.gather(*(_run_one(call, by_name) for call in calls)))
