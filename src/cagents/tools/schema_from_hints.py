"""Build a `Tool` from a typed function: JSON schema from its hints, text from its docstring."""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Union

from cagents.errors import ToolError
from cagents.tools.context import ToolContext
from cagents.tools.tool import Tool

__all__ = ["schema_for_type", "tool_from_function"]

_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_NONE_TYPES = (None, type(None))
_HINT_TYPES = "str, int, float, bool, None, list[T], dict[str, T], Optional[T] or Literal[...]"
_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters):\s*$")
_ARG_LINE = re.compile(r"^\s+(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")


class _Unsupported(Exception):
    """A type hint a JSON schema cannot express."""


def schema_for_type(hint: Any) -> dict[str, Any]:
    """JSON schema of one hint: str int float bool None, list[T], dict[str, T], unions, Literal."""
    if hint is Any or hint is inspect.Parameter.empty:
        return {}
    if hint in _NONE_TYPES:
        return {"type": "null"}
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        schema = schema_for_type(args[0])
        notes = [meta for meta in args[1:] if isinstance(meta, str)]
        if notes:
            schema["description"] = " ".join(notes)
        return schema
    if hint is list or origin is list:
        return {"type": "array", "items": schema_for_type(args[0])} if args else {"type": "array"}
    if hint is dict or origin is dict:
        if not args:
            return {"type": "object"}
        if args[0] is not str:
            raise _Unsupported(f"dict keys must be str in JSON, got {args[0]!r}")
        return {"type": "object", "additionalProperties": schema_for_type(args[1])}
    if origin is Literal:
        return _literal_schema(args)
    if origin is Union or (hasattr(types, "UnionType") and isinstance(hint, types.UnionType)):
        members = [schema_for_type(arg) for arg in args]
        simple = [m.get("type") for m in members]
        if all(isinstance(t, str) and len(m) == 1 for t, m in zip(simple, members, strict=True)):
            return {"type": simple}
        return {"anyOf": members}
    raise _Unsupported(f"type {hint!r} has no JSON schema")


def _literal_schema(values: tuple[Any, ...]) -> dict[str, Any]:
    for value in values:
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise _Unsupported(f"Literal value {value!r} is not a JSON scalar")
    kinds = {type(value) for value in values}
    schema: dict[str, Any] = {"enum": list(values)}
    if len(kinds) == 1 and next(iter(kinds)) in _SCALARS:
        schema = {"type": _SCALARS[next(iter(kinds))], **schema}
    return schema


def _docstring_parts(func: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """First paragraph of the docstring, and `name: text` lines of its `Args:` section."""
    doc = inspect.getdoc(func) or ""
    summary = doc.split("\n\n", 1)[0].strip()
    summary = " ".join(line.strip() for line in summary.splitlines())
    described: dict[str, str] = {}
    lines = doc.splitlines()
    for index, line in enumerate(lines):
        if not _ARGS_HEADER.match(line):
            continue
        current: str | None = None
        for item in lines[index + 1 :]:
            if not item.strip():
                break
            match = _ARG_LINE.match(item)
            if match and (len(item) - len(item.lstrip())) <= 4:
                current = match.group(1).lstrip("*")
                described[current] = match.group(3).strip()
            elif current is not None:
                described[current] = f"{described[current]} {item.strip()}".strip()
        break
    return summary, described


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    target = func if inspect.isfunction(func) or inspect.ismethod(func) else type(func).__call__
    target = inspect.unwrap(target)
    try:
        return typing.get_type_hints(
            target, localns={"ToolContext": ToolContext}, include_extras=True
        )
    except Exception as exc:  # a forward reference that cannot be resolved
        raise _Unsupported(f"cannot resolve its type hints ({exc})") from exc


def _jsonable_default(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def tool_from_function(
    func: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    unsafe: bool = False,
    env_keys: tuple[tuple[str, ...], ...] = (),
) -> Tool:
    """A `Tool` whose schema comes from `func`'s type hints and whose text from its docstring.

    Every parameter needs a type hint; one typed `ToolContext` (or an unannotated `ctx`)
    receives the context and is left out of the schema; parameters with defaults are optional.
    """
    tool_name = name or getattr(func, "__name__", None) or type(func).__name__
    try:
        signature = inspect.signature(func)
        hints = _hints(func)
    except (TypeError, ValueError, _Unsupported) as exc:
        raise ToolError(tool_name, f"cannot build a tool from {func!r}: {exc}") from exc
    summary, described = _docstring_parts(func)
    properties: dict[str, Any] = {}
    required: list[str] = []
    ctx_param: str | None = None
    for param in signature.parameters.values():
        hint = hints.get(param.name, inspect.Parameter.empty)
        if hint is ToolContext or (param.name == "ctx" and hint is inspect.Parameter.empty):
            ctx_param = param.name
            continue
        schema = _parameter_schema(tool_name, param, hint)
        if param.name in described and "description" not in schema:
            schema["description"] = described[param.name]
        if param.default is param.empty:
            required.append(param.name)
        elif _jsonable_default(param.default):
            schema["default"] = param.default
        properties[param.name] = schema
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        parameters["required"] = required
    return Tool(
        name=tool_name,
        description=description or summary or f"Call {tool_name}.",
        parameters=parameters,
        func=_adapter(func, ctx_param),
        unsafe=unsafe,
        env_keys=env_keys,
    )


def _parameter_schema(tool_name: str, param: inspect.Parameter, hint: Any) -> dict[str, Any]:
    """The schema of one parameter, or a ToolError saying how to make it describable."""
    where = f"parameter '{param.name}'"
    if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
        raise ToolError(tool_name, f"{where}: *args and **kwargs cannot be described to a model")
    if param.kind is param.POSITIONAL_ONLY:
        raise ToolError(tool_name, f"{where} is positional-only; tools get named arguments")
    if hint is inspect.Parameter.empty:
        raise ToolError(tool_name, f"{where} has no type hint; annotate it with {_HINT_TYPES}")
    try:
        return schema_for_type(hint)
    except _Unsupported as exc:
        raise ToolError(tool_name, f"{where}: {exc}; use {_HINT_TYPES}") from exc


def _adapter(func: Callable[..., Any], ctx_param: str | None) -> Callable[..., Any]:
    """Turn `func(**args)` into the `func(args, ctx)` form every Tool uses, keeping async-ness."""
    if inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(type(func).__call__):

        async def call_async(args: dict[str, Any], ctx: ToolContext) -> Any:
            extra = {ctx_param: ctx} if ctx_param else {}
            return await func(**args, **extra)

        return call_async

    def call(args: dict[str, Any], ctx: ToolContext) -> Any:
        extra = {ctx_param: ctx} if ctx_param else {}
        return func(**args, **extra)

    return call
