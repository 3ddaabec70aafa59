"""The offline simulator: deterministic, schema-valid, streamed, never a network call."""

from __future__ import annotations

import random
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cagents.errors import LLMError
from cagents.llm import LLMRequest, LLMSettings, ToolBinding, acomplete, complete, example_value

SIM = LLMSettings(provider="simulator", model="sim-model")

SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {"answer": {"type": "string"}, "score": {"type": "integer"},
                                      "ratio": {"type": "number"}, "ok": {"type": "boolean"}},
     "required": ["answer", "score", "ratio", "ok"]},
    {"type": "object", "properties": {
        "author": {"type": "object", "properties": {
            "name": {"type": "string"},
            "address": {"type": "object", "properties": {"city": {"type": "string"}},
                        "required": ["city"]}},
            "required": ["name", "address"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
     "required": ["author", "tags"], "additionalProperties": False},
    {"type": "object", "properties": {
        "level": {"enum": ["low", "medium", "high"]},
        "items": {"type": "array", "items": {
            "type": "object", "properties": {"id": {"type": "integer", "minimum": 100,
                                                    "maximum": 105},
                                             "kind": {"type": "string", "enum": ["a", "b"]}},
            "required": ["id", "kind"]}}},
     "required": ["level", "items"]},
    {"type": "object", "properties": {
        "maybe": {"anyOf": [{"type": "null"}, {"type": "integer", "exclusiveMinimum": 5}]},
        "nullable": {"type": ["string", "null"], "minLength": 30},
        "ref": {"$ref": "#/$defs/Point"}},
     "required": ["maybe", "nullable", "ref"],
     "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number",
                                                                "maximum": -3}},
                         "required": ["x"]}}},
]


def _request(schema: dict[str, Any] | None = None, text: str = "Summarise the report") -> LLMRequest:
    return LLMRequest(messages=[{"role": "system", "content": "You are helpful."},
                                {"role": "user", "content": text}], output_schema=schema)


@pytest.mark.parametrize("schema", SCHEMAS)
async def test_structured_answer_is_valid_against_the_schema(schema: dict[str, Any]) -> None:
    result = await acomplete(_request(schema), SIM)
    jsonschema.validate(result.data, schema)
    assert result.simulated and result.cost_usd == 0.0
    assert result.provider == "simulator" and result.model == "sim-model"


async def test_readable_placeholders_and_conventions() -> None:
    result = await acomplete(_request(SCHEMAS[0]), SIM)
    assert result.data["answer"] == "simulated answer"
    assert result.data["ok"] is False
    assert 1 <= result.data["score"] <= 10
    enum_result = await acomplete(_request(SCHEMAS[2]), SIM)
    assert enum_result.data["level"] == "low"
    assert 1 <= len(enum_result.data["items"]) <= 2


async def test_same_request_same_answer_and_different_requests_differ() -> None:
    first = await acomplete(_request(SCHEMAS[2]), SIM)
    again = await acomplete(_request(SCHEMAS[2]), SIM)
    assert first.data == again.data and first.content == again.content
    texts = {(await acomplete(_request(SCHEMAS[0], f"question {i}"), SIM)).content
             for i in range(10)}
    assert len(texts) > 1


async def test_free_text_answer_usage_and_streaming() -> None:
    tokens: list[str] = []
    request = _request(None, "What is the capital of France?")
    request.on_token = tokens.append
    result = await acomplete(request, SIM)
    assert "What is the capital of France?" in result.content
    assert result.data == result.content
    assert "".join(tokens) == result.content and len(tokens) > 1
    prompt_chars = len("You are helpful.") + len("What is the capital of France?")
    assert result.usage.prompt_tokens == pytest.approx(prompt_chars / 4, abs=2)
    assert result.usage.completion_tokens == pytest.approx(len(result.content) / 4, abs=1)


async def test_missing_key_uses_simulator_and_never_calls_tools() -> None:
    called: list[dict[str, Any]] = []

    async def tool(arguments: dict[str, Any]) -> str:
        called.append(arguments)
        return "x"

    request = _request(SCHEMAS[0])
    request.tools = [ToolBinding("lookup", "look up", {"type": "object", "properties": {}}, tool)]
    result = await acomplete(request, LLMSettings(provider="openai", model="gpt-4o"), env={})
    assert result.simulated and result.provider == "openai" and result.model == "gpt-4o"
    assert called == [] and result.tool_calls == []


async def test_validate_runs_on_simulated_data() -> None:
    request = _request(SCHEMAS[0])
    request.validate = lambda data: {**data, "checked": True}
    assert (await acomplete(request, SIM)).data["checked"] is True

    def refuse(data: Any) -> Any:
        raise ValueError("score must be above 100")

    request.validate = refuse
    request.label = "grader"
    with pytest.raises(LLMError, match="grader: .*score must be above 100"):
        await acomplete(request, SIM)


def test_sync_complete_without_a_loop() -> None:
    result = complete(_request(SCHEMAS[1]), SIM)
    jsonschema.validate(result.data, SCHEMAS[1])


async def test_sync_complete_inside_a_loop_points_to_acomplete() -> None:
    with pytest.raises(RuntimeError, match="acomplete"):
        complete(_request(), SIM)


# -- property: any schema of the supported subset gets a valid example ------------------

_leaf = st.one_of(
    st.just({"type": "string"}),
    st.builds(lambda lo, span: {"type": "integer", "minimum": lo, "maximum": lo + span},
              st.integers(-50, 50), st.integers(0, 20)),
    st.builds(lambda lo: {"type": "number", "exclusiveMinimum": lo}, st.integers(-5, 5)),
    st.just({"type": "boolean"}),
    st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=4, unique=True).map(
        lambda values: {"enum": values}),
    st.builds(lambda n: {"type": "string", "minLength": n}, st.integers(0, 40)),
)

_schema = st.recursive(
    _leaf,
    lambda children: st.one_of(
        st.builds(lambda item, low: {"type": "array", "items": item, "minItems": low},
                  children, st.integers(0, 2)),
        st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), children,
                        min_size=1, max_size=4).map(
            lambda props: {"type": "object", "properties": props, "required": sorted(props),
                           "additionalProperties": False}),
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(schema=_schema, seed=st.integers(0, 2**32))
def test_example_value_is_valid_for_generated_schemas(schema: dict[str, Any], seed: int) -> None:
    jsonschema.validate(example_value(schema, random.Random(seed)), schema)
