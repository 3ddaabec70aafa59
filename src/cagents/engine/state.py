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


def json_copy(value: Any) -> Any:
    """A deep copy that also proves the value is JSON (no objects sneak into state)."""
    return json.loads(json.dumps(value, ensure_ascii=False, allow_nan=False))


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
            state[name] = value
        elif field_spec.required:
            problems[name] = f"required input missing ({spec_type})"
        elif field_spec.default is not None:
            state[name] = copy.deepcopy(field_spec.default)
        else:
            state[name] = None
    if problems:
        raise InputError(problems)
    try:
        return json_copy(state)
    except (TypeError, ValueError) as error:
        raise InputError({"inputs": f"not JSON data: {error}"}) from None


def check_writes(spec: WorkflowSpec, node_id: str, writes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a node's writes against its output types; returns a JSON copy."""
    types = spec.output_types.get(node_id, {})
    for name, value in writes.items():
        declared = types.get(name) or spec.state_types.get(name)
        if declared is None:
            raise NodeError(node_id, f"wrote `{name}`, which is not one of its outputs", field_name=name)
        problems = declared.check(value, name)
        if problems:
            raise NodeError(node_id, "; ".join(problems), field_name=name)
    try:
        return json_copy(dict(writes))
    except (TypeError, ValueError) as error:
        raise NodeError(node_id, f"output is not JSON data: {error}") from None
