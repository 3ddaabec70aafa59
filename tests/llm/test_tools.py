"""The tool-calling loop: rounds, bad arguments, unknown tools, failing tools, the step bound."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cagents.errors import LLMError, ToolError
from cagents.llm import LLMRequest, LLMSettings, ToolBinding, acomplete
from support.llm_server import ScriptedLLMServer

SETTINGS = LLMSettings(model="gpt-4o-mini")
ADD_PARAMS = {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
              "required": ["a", "b"]}


class Calculator:
    """Real async tools that remember their calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def add(self, arguments: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("add", arguments))
        return {"sum": arguments["a"] + arguments["b"]}

    async def shout(self, arguments: dict[str, Any]) -> str:
        self.calls.append(("shout", arguments))
        return str(arguments["text"]).upper()

    async def broken(self, arguments: dict[str, Any]) -> str:
        raise ToolError("broken", "backend unavailable")

    def bindings(self) -> list[ToolBinding]:
        return [
            ToolBinding("add", "Add two numbers", ADD_PARAMS, self.add),
            ToolBinding("shout", "Upper-case text", {"type": "object", "properties": {
                "text": {"type": "string"}}}, self.shout),
            ToolBinding("broken", "Always fails", {}, self.broken),
        ]


def _request(calc: Calculator, schema: dict[str, Any] | None = None) -> LLMRequest:
    return LLMRequest(messages=[{"role": "user", "content": "What is 2 + 3?"}],
                      tools=calc.bindings(), output_schema=schema, label="math")


def _tool_messages(request_body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in request_body["messages"] if m["role"] == "tool"]


async def test_one_tool_round(llm_env: ScriptedLLMServer) -> None:
    calc = Calculator()
    llm_env.reply(tool_calls=[{"id": "c1", "name": "add", "arguments": {"a": 2, "b": 3}}],
                  usage=(10, 5))
    llm_env.reply("The sum is 5.", usage=(30, 4))
    result = await acomplete(_request(calc), SETTINGS)
    assert result.content == "The sum is 5."
    assert calc.calls == [("add", {"a": 2, "b": 3})]
    assert [(r.name, r.arguments, r.result, r.error) for r in result.tool_calls] == [
        ("add", {"a": 2, "b": 3}, {"sum": 5}, None)]
    assert result.tool_calls[0].duration_s >= 0
    assert result.usage.total_tokens == 49
    first, second = llm_env.requests
    assert [t["function"]["name"] for t in first["tools"]] == ["add", "shout", "broken"]
    assert first["tools"][0] == {"type": "function", "function": {
        "name": "add", "description": "Add two numbers", "parameters": ADD_PARAMS}}
    assistant = second["messages"][-2]
    assert assistant["role"] == "assistant" and assistant["tool_calls"][0]["id"] == "c1"
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": "c1",
                                      "content": json.dumps({"sum": 5})}


async def test_two_rounds_with_parallel_calls_and_structured_answer(llm_env: ScriptedLLMServer) -> None:
    calc = Calculator()
    llm_env.reply(tool_calls=[{"name": "add", "arguments": {"a": 1, "b": 1}},
                              {"name": "shout", "arguments": {"text": "hi"}}])
    llm_env.reply(tool_calls=[{"name": "add", "arguments": {"a": 2, "b": 2}}])
    llm_env.reply(json={"answer": 4})
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}},
              "required": ["answer"]}
    result = await acomplete(_request(calc, schema), SETTINGS)
    assert result.data == {"answer": 4}
    assert [r.name for r in result.tool_calls] == ["add", "shout", "add"]
    assert [r.result for r in result.tool_calls] == [{"sum": 2}, "HI", {"sum": 4}]
    assert [m["content"] for m in _tool_messages(llm_env.requests[1])] == [
        json.dumps({"sum": 2}), "HI"]
    assert len(_tool_messages(llm_env.requests[2])) == 3
    assert all("response_format" in body for body in llm_env.requests)


async def test_bad_arguments_unknown_tool_and_failing_tool_are_fed_back(
    llm_env: ScriptedLLMServer,
) -> None:
    calc = Calculator()
    llm_env.reply(tool_calls=[
        {"id": "bad", "name": "add", "arguments": '{"a": 1, "b": '},
        {"id": "nope", "name": "multiply", "arguments": {"a": 1}},
        {"id": "boom", "name": "broken", "arguments": {}},
        {"id": "list", "name": "add", "arguments": "[1, 2]"},
    ])
    llm_env.reply("I could not compute it.")
    result = await acomplete(_request(calc), SETTINGS)
    assert result.content == "I could not compute it."
    assert calc.calls == []
    errors = {r.name: r.error for r in result.tool_calls}
    assert len(result.tool_calls) == 4
    assert result.tool_calls[0].error is not None
    assert result.tool_calls[0].error.startswith("arguments are not valid JSON")
    assert errors["multiply"] == "unknown tool 'multiply'; available tools: add, broken, shout"
    assert errors["broken"] == "ToolError: tool 'broken': backend unavailable"
    assert result.tool_calls[3].error == "arguments must be a JSON object, got list"
    fed_back = {m["tool_call_id"]: json.loads(m["content"])
                for m in _tool_messages(llm_env.requests[1])}
    assert set(fed_back) == {"bad", "nope", "boom", "list"}
    assert fed_back["nope"] == {"error": errors["multiply"]}
    assert all("error" in value for value in fed_back.values())


async def test_step_bound(llm_env: ScriptedLLMServer) -> None:
    calc = Calculator()
    for _ in range(3):
        llm_env.reply(tool_calls=[{"name": "add", "arguments": {"a": 1, "b": 2}}])
    request = _request(calc)
    request.max_tool_steps = 2
    with pytest.raises(LLMError) as caught:
        await acomplete(request, SETTINGS)
    message = str(caught.value)
    assert message.startswith("math: ") and "max_tool_steps=2" in message
    assert len(calc.calls) == 2 and llm_env.pending == 0


async def test_streamed_tool_calls_are_reassembled(llm_env: ScriptedLLMServer) -> None:
    calc = Calculator()
    llm_env.reply("Let me add.", tool_calls=[
        {"id": "s1", "name": "add", "arguments": {"a": 20, "b": 22}},
        {"id": "s2", "name": "shout", "arguments": {"text": "streamed arguments"}}],
        usage=(7, 3))
    llm_env.reply("It is 42.", usage=(9, 2))
    tokens: list[str] = []
    request = _request(calc)
    request.on_token = tokens.append
    result = await acomplete(request, SETTINGS)
    assert calc.calls == [("add", {"a": 20, "b": 22}), ("shout", {"text": "streamed arguments"})]
    assert "".join(tokens) == "Let me add.It is 42."
    assert result.content == "It is 42."
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (16, 5)
    assistant = llm_env.requests[1]["messages"][-3]
    assert assistant["content"] == "Let me add."
    assert [c["id"] for c in assistant["tool_calls"]] == ["s1", "s2"]
    assert json.loads(assistant["tool_calls"][1]["function"]["arguments"]) == {
        "text": "streamed arguments"}
