"""Workflow state: initial state from inputs, and type-checked writes.

State is plain JSON data. Inputs are checked before any node runs, with one error
listing every bad or missing field; every node write is checked against the declared
type, so a wrong value stops at the node that produced it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from cagents.config.loader import WorkflowSpec
from cagents.errors import InputError, NodeError

__all__ = ["initial_state", "check_writes", "json_copy"]


_SCALARS = (str, int, float, bool, type(None))


def json_copy(value: Any) -> Any:
    """A deep copy that also proves the value is JSON (no objects sneak into state).

    Faster than a JSON round trip for the small values nodes write; raises TypeError or
    ValueError (NaN, infinity, non-string keys) like `json.dumps` would.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value} is not valid JSON")
        return value
    if kind is list or kind is tuple:
        return [json_copy(v) for v in value]
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(f"keys must be strings, got {type(key).__name__}")
            out[key] = json_copy(item)
        return out
    if isinstance(value, _SCALARS):  # subclasses of str/int/float (enums, numpy-like)
        return json.loads(json.dumps(value, allow_nan=False))
    raise TypeError(f"{type(value).__name__} is not JSON data")


def initial_state(spec: WorkflowSpec, inputs: Mapping[str, Any], *, coerce: bool = False) -> dict[str, Any]:
    """Declared defaults overlaid with inputs; raises InputError naming every problem."""
    fields = spec.config.state.fields
    problems: dict[str, str] = {}
    for name in inputs:
        if name not in fields:
            import difflib

            close = difflib.get_close_matches(name, list(fields), n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            problems[name] = f"not a state field of `{spec.name}`{hint}"
    state: dict[str, Any] = {}
    for name, field_spec in fields.items():
        spec_type = spec.state_types[name]
        if name in inputs:
            value = inputs[name]
            if coerce:
                value = spec_type.coerce(value)
            found = spec_type.check(value, name)
            if found:
                problems[name] = "; ".join(found)
                continue
            try:
                state[name] = json_copy(value)  # the caller keeps its own objects
            except (TypeError, ValueError) as error:
                problems[name] = f"not JSON data: {error}"
        elif field_spec.required:
            problems[name] = f"required input missing ({spec_type})"
        elif field_spec.default is not None:
            state[name] = copy.deepcopy(field_spec.default)
        else:
            state[name] = None
    if problems:
        raise InputError(problems)
    return state


def check_writes(spec: WorkflowSpec, node_id: str, writes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a node's writes against its output types; returns a JSON copy."""
    types = spec.output_types.get(node_id, {})
    checked: dict[str, Any] = {}
    for name, value in writes.items():
        declared = types.get(name) or spec.state_types.get(name)
        if declared is None:
            raise NodeError(node_id, f"wrote `{name}`, which is not one of its outputs", field_name=name)
        problems = declared.check(value, name)
        if problems:
            raise NodeError(node_id, "; ".join(problems), field_name=name)
        try:
            checked[name] = json_copy(value)
        except (TypeError, ValueError) as error:
            raise NodeError(node_id, f"output is not JSON data: {error}", field_name=name) from None
    return checked
