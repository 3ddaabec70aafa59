"""A small JSON-schema checker for tool arguments, so core needs no jsonschema dependency.

It covers what tool schemas use: type (one or several), enum, const, anyOf/oneOf,
properties/required/additionalProperties, items, minimum/maximum, minItems/maxItems.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

__all__ = ["check_arguments", "json_type_name"]

_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, (list, tuple)),
    "object": lambda v: isinstance(v, Mapping),
}


_SCALAR_TYPES = frozenset({"string", "integer", "number", "boolean", "null"})


def json_type_name(value: Any) -> str:
    """The JSON name of a Python value's type, for messages."""
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _CHECKS[name](value):
            return name
    return type(value).__name__


def check_arguments(schema: Mapping[str, Any], args: Mapping[str, Any]) -> list[str]:
    """Every problem of `args` against the tool's `parameters` schema, each naming its argument."""
    problems: list[str] = []
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in args:
            problems.append(f"missing required argument '{name}'")
    extra = schema.get("additionalProperties", True)
    for name, value in args.items():
        if name in properties:
            problems += _check(properties[name], value, name)
        elif extra is False:
            close = difflib.get_close_matches(str(name), list(properties), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            accepted = ", ".join(properties) or "none"
            problems.append(f"unknown argument '{name}'{hint}; accepted arguments: {accepted}")
        elif isinstance(extra, Mapping):
            problems += _check(extra, value, name)
    return problems


_ANNOTATIONS = frozenset({"type", "description", "title", "default", "examples"})


def _check(schema: Mapping[str, Any], value: Any, where: str) -> list[str]:
    """Problems of one value; `where` is its path, like `headers.Accept` or `args[2]`."""
    kind = schema.get("type")
    if type(kind) is str and kind in _SCALAR_TYPES and _ANNOTATIONS.issuperset(schema):
        # The common case, a plain scalar parameter: one type test, no lists built.
        if _CHECKS[kind](value):
            return []
        return [f"argument '{where}': expected {kind}, got {json_type_name(value)}"]
    for key in ("anyOf", "oneOf"):
        if key in schema and all(_check(option, value, where) for option in schema[key]):
            wanted = " or ".join(_describe(option) for option in schema[key])
            return [f"argument '{where}': expected {wanted}, got {json_type_name(value)}"]
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_CHECKS.get(kind, lambda v: True)(value) for kind in kinds):
            return [
                f"argument '{where}': expected {' or '.join(kinds)}, got {json_type_name(value)}"
            ]
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(repr(choice) for choice in schema["enum"])
        return [f"argument '{where}': {value!r} is not one of {choices}"]
    if "const" in schema and value != schema["const"]:
        return [f"argument '{where}': must be {schema['const']!r}"]
    problems = _check_bounds(schema, value, where)
    if isinstance(value, (list, tuple)) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            problems += _check(schema["items"], item, f"{where}[{index}]")
    if isinstance(value, Mapping) and ("properties" in schema or "additionalProperties" in schema):
        nested = check_arguments(schema, value)
        problems += [_nest(problem, where) for problem in nested]
    return problems


def _check_bounds(schema: Mapping[str, Any], value: Any, where: str) -> list[str]:
    problems = []
    if _CHECKS["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"argument '{where}': {value} is below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"argument '{where}': {value} is above the maximum {schema['maximum']}")
    if isinstance(value, (list, tuple)):
        if "minItems" in schema and len(value) < schema["minItems"]:
            problems.append(f"argument '{where}': needs at least {schema['minItems']} item(s)")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append(f"argument '{where}': takes at most {schema['maxItems']} item(s)")
    return problems


def _nest(problem: str, where: str) -> str:
    """Prefix a nested object's problem with the path of the object holding it."""
    for marker in ("argument '", "missing required argument '", "unknown argument '"):
        if problem.startswith(marker):
            return f"{marker}{where}.{problem[len(marker) :]}"
    return f"{where}: {problem}"


def _describe(schema: Mapping[str, Any]) -> str:
    kinds = schema.get("type")
    if isinstance(kinds, str):
        return kinds
    if isinstance(kinds, list):
        return " or ".join(kinds)
    if "enum" in schema:
        return "one of " + ", ".join(repr(choice) for choice in schema["enum"])
    return "a value matching the schema"
