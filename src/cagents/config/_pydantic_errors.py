"""Turn pydantic's validation errors into `ConfigIssue`s that point at the YAML.

Each issue names the key path (`nodes[2].outputs`), the line and column where it stands
in the file, what is wrong in plain words, and a hint (did-you-mean for unknown keys).
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from cagents.errors import ConfigIssue

if typing.TYPE_CHECKING:
    from cagents.config._source import Source

__all__ = ["issues_from_validation_error", "key_path", "allowed_keys"]

_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}

# Keys that LLM-written YAML often gets wrong, with the fix spelled out.
_SPECIAL_HINTS = {
    "api_key": "keys never go in YAML: put the key in an environment variable and name it with api_key_env",
    "output": "the key is `outputs` (a list of state fields)",
    "type_": "the key is `type`",
    "source": "edges use `from` and `to`",
    "target": "edges use `from` and `to`",
    "condition": "conditions go inside `routes: [{condition: {logic: ...}, to: ...}]` or `when:`",
}


def key_path(path: tuple[str | int, ...]) -> str:
    """`("nodes", 2, "outputs")` -> `nodes[2].outputs`."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += ("." if text else "") + step
    return text or "(top level)"


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _data_path(data: Any, loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Keep only the loc steps that really index the data (drops union tags and the like)."""
    path: list[str | int] = []
    current = data
    for step in loc:
        if isinstance(current, dict) and isinstance(step, str) and step in current:
            path.append(step)
            current = current[step]
        elif isinstance(current, list) and isinstance(step, int) and 0 <= step < len(current):
            path.append(step)
            current = current[step]
        elif isinstance(current, (dict, list)):
            continue
        else:
            break
    return tuple(path)


def _unwrap_models(annotation: Any) -> list[type[BaseModel]]:
    """Every model class an annotation can hold, looking through Optional/list/dict/Annotated."""
    found: list[type[BaseModel]] = []
    stack = [annotation]
    while stack:
        item = stack.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            found.append(item)
            continue
        origin = typing.get_origin(item)
        if origin is typing.Annotated:
            stack.append(typing.get_args(item)[0])
        elif origin in (list, dict, typing.Union, types.UnionType):
            stack.extend(typing.get_args(item))
    return found


def _model_at(root: type[BaseModel], path: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that validates the mapping at `path`, if one does."""
    candidates: list[type[BaseModel]] = [root]
    for step in path:
        if isinstance(step, int):
            continue
        following: list[type[BaseModel]] = []
        for model in candidates:
            for name, info in model.model_fields.items():
                if step in (name, info.alias):
                    following.extend(_unwrap_models(info.annotation))
        if following:
            candidates = following
        else:
            # A dict of models (state.fields.<name>): the key is data, not a field.
            continue
    return candidates[0] if candidates else None


def allowed_keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def issues_from_validation_error(
    error: ValidationError, data: Any, source: Source, root: type[BaseModel]
) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    seen: set[tuple[Any, ...]] = set()
    for entry in error.errors(include_url=False):
        loc = tuple(entry["loc"])
        kind = entry["type"]
        path = _data_path(data, loc)
        issue = _issue(kind, entry, loc, path, data, source, root)
        marker = (issue.line, issue.column, issue.message)
        if marker not in seen:
            seen.add(marker)
            issues.append(issue)
    return issues


def _issue(
    kind: str,
    entry: Any,
    loc: tuple[Any, ...],
    path: tuple[str | int, ...],
    data: Any,
    source: Source,
    root: type[BaseModel],
) -> ConfigIssue:
    file = source.filename
    value = entry.get("input")
    if kind == "extra_forbidden":
        parent = path[:-1] if path and path[-1] == loc[-1] else path
        bad = str(loc[-1])
        model = _model_at(root, parent)
        keys = allowed_keys(model) if model else []
        line, column = source.locate(path)
        close = difflib.get_close_matches(bad, keys, n=1, cutoff=0.6)
        if bad in _SPECIAL_HINTS:
            hint = _SPECIAL_HINTS[bad]
        elif close:
            hint = f"did you mean `{close[0]}`?"
        else:
            hint = f"allowed keys here: {', '.join(keys)}; prefix a key with `x-` to keep your own data"
        return ConfigIssue(
            f"unknown key `{bad}` in {key_path(parent)}",
            file=file, line=line, column=column, key=key_path((*parent, bad)), hint=hint,
        )
    if kind == "missing":
        missing = str(loc[-1])
        line, column = source.locate(path)
        where = key_path(path)
        model = _model_at(root, path)
        hint = _missing_hint(missing, model)
        return ConfigIssue(
            f"missing required key `{missing}` in {where}",
            file=file, line=line, column=column, key=key_path((*path, missing)), hint=hint,
        )
    position = source.value_position(path) or source.locate(path)
    line, column = position
    where = key_path(path)
    if kind in _TYPE_WORDS:
        return ConfigIssue(
            f"{where} must be {_TYPE_WORDS[kind]}, got {_describe(value)}",
            file=file, line=line, column=column, key=where, hint=_type_hint(path, kind),
        )
    if kind == "literal_error":
        expected = entry.get("ctx", {}).get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ",").split(",") if o.strip()]
        close = difflib.get_close_matches(str(value), options, n=1) if isinstance(value, str) else []
        hint = f"did you mean `{close[0]}`?" if close else f"use one of: {', '.join(options)}"
        if path and path[-1] == "schema_version":
            hint = 'this runtime reads schema_version "1.0"'
        return ConfigIssue(
            f"{where} must be one of {', '.join(options)}; got {_describe(value)}",
            file=file, line=line, column=column, key=where, hint=hint,
        )
    if kind == "too_short" and path in (("nodes",), ("edges",)):
        noun = path[0][:-1]
        return ConfigIssue(
            f"a workflow needs at least one {noun}",
            file=file, line=line, column=column, key=where,
            hint="add nodes and edges from START to END",
        )
    message = str(entry.get("msg", "invalid value"))
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return ConfigIssue(
        f"{where}: {message[0].lower() + message[1:] if message else message}",
        file=file, line=line, column=column, key=where, hint=None,
    )


def _missing_hint(missing: str, model: type[BaseModel] | None) -> str | None:
    examples = {
        "schema_version": 'add schema_version: "1.0" at the top',
        "flow": "add flow: {name: my_workflow}",
        "state": "declare state.fields: the data the workflow reads and writes",
        "nodes": "add at least one node",
        "edges": "connect the nodes: edges: [{from: START, to: first}, {from: first, to: END}]",
        "from": "every edge needs `from` (a node id or START)",
        "id": "every node needs a unique `id`",
        "type": "write the type: str, int, float, bool, list, dict, object, list[T] or dict[K, V]",
        "to": "say where the route leads: to: <node id or END>",
        "condition_field": "name the bool state field that ends the loop",
        "max_iterations": "bound the loop: max_iterations: 5",
        "exit_to": "say where the run goes after the loop: exit_to: <node id or END>",
    }
    if missing in examples:
        return examples[missing]
    if model is not None:
        return f"{model.__name__} needs: " + ", ".join(
            info.alias or name for name, info in model.model_fields.items() if info.is_required()
        )
    return None


def _type_hint(path: tuple[str | int, ...], kind: str) -> str | None:
    last = path[-1] if path else ""
    if last == "outputs" and kind == "list_type":
        return "write a list: outputs: [field_name]"
    if last in ("tags", "allowed_methods", "allow") and kind == "list_type":
        return f"write a list: {last}: [a, b]"
    if kind in ("model_type", "dict_type"):
        return "indent the keys below it, or use {key: value}"
    return None
