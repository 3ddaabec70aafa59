"""JSON schemas generated from type hints, and what cannot be described."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

import pytest

from cagents.errors import ToolError
from cagents.tools import ToolContext, tool_from_function
from cagents.tools.schema_from_hints import schema_for_type


@pytest.mark.parametrize(
    ("hint", "schema"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (None, {"type": "null"}),
        (Any, {}),
        (list, {"type": "array"}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (dict, {"type": "object"}),
        (dict[str, bool], {"type": "object", "additionalProperties": {"type": "boolean"}}),
        (Optional[int], {"type": ["integer", "null"]}),  # noqa: UP045 - the old spelling too
        (int | None, {"type": ["integer", "null"]}),
        (Union[str, int], {"type": ["string", "integer"]}),  # noqa: UP007 - the old spelling too
        (
            list[str] | None,
            {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
        ),
        (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
        (Literal[1, "x"], {"enum": [1, "x"]}),
        (Annotated[str, "A city name"], {"type": "string", "description": "A city name"}),
        (
            list[dict[str, list[float]]],
            {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "number"}},
                },
            },
        ),
    ],
)
def test_schema_for_type(hint: Any, schema: dict[str, Any]) -> None:
    assert schema_for_type(hint) == schema


def test_context_parameter_is_hidden_and_passed(tmp_path) -> None:
    def where(name: str, ctx: ToolContext) -> str:
        """Say where."""
        return f"{name}@{ctx.workspace.name}"

    tool = tool_from_function(where)
    assert list(tool.parameters["properties"]) == ["name"]
    assert tool.func({"name": "n"}, ToolContext(workspace=tmp_path, env={})) == f"n@{tmp_path.name}"


def test_description_falls_back_and_can_be_given() -> None:
    def bare(x: int) -> int:
        return x

    assert tool_from_function(bare).description == "Call bare."
    assert tool_from_function(bare, name="b", description="Custom.").description == "Custom."
    assert tool_from_function(bare, name="b").name == "b"


async def test_async_functions_stay_async() -> None:
    async def later(x: int) -> int:
        """Later."""
        return x + 1

    tool = tool_from_function(later)
    assert await tool.func({"x": 1}, None) == 2


def _untyped(x):  # type: ignore[no-untyped-def]
    return x


def _star(*args: int) -> tuple[int, ...]:
    return args


def _positional(x: int, /) -> int:
    return x


def _a_set(x: set[int]) -> set[int]:
    return x


def _int_keys(x: dict[int, str]) -> dict[int, str]:
    return x


def _unresolvable(x: Undefined) -> None:  # type: ignore[name-defined]  # noqa: F821
    return None


@pytest.mark.parametrize(
    ("func", "message"),
    [
        (_untyped, "has no type hint"),
        (_star, r"\*args and \*\*kwargs"),
        (_positional, "positional-only"),
        (_a_set, "parameter 'x'"),
        (_int_keys, "dict keys must be str"),
        (_unresolvable, "cannot resolve its type hints"),
    ],
)
def test_unsupported_signatures_are_refused_clearly(func: Any, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        tool_from_function(func)
