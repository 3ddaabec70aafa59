"""Tools in workflows: the tool-calling loop inside an LLM node (scripted tool_calls, the real
calculator), error policies, and `kind: tool` nodes with templated arguments."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import cagents
from cagents.engine import Workflow
from support.llm_server import ScriptedLLMServer

AGENT = """
schema_version: "1.0"
flow: {name: agent}
state:
  fields:
    question: {type: str, required: true}
    answer: {type: str}
nodes:
  - id: solve
    prompt: "Use the calculator: {question}"
    tools: [TOOLS]
    outputs: [answer]
edges:
  - {from: START, to: solve}
  - {from: solve, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""

TOOL_NODE = """
schema_version: "1.0"
flow: {name: tool_node}
state:
  fields:
    expr: {type: str, required: true}
    value: {type: float}
    comment: {type: str}
nodes:
  - id: compute
    kind: tool
    tool: TOOL
    args: {expression: "({state.expr}) * 2"}
    outputs: [value]
  - {id: explain, prompt: "Explain {value}", outputs: [comment]}
edges:
  - {from: START, to: compute}
  - {from: compute, to: explain}
  - {from: explain, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""


def _agent(tools: str) -> Workflow:
    return cagents.load(textwrap.dedent(AGENT).replace("TOOLS", tools))


def _tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in request["messages"] if m["role"] == "tool"]


async def test_llm_node_calls_the_calculator(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(tool_calls=[{"id": "c1", "name": "calculator", "arguments": {"expression": "6 * 7"}}])
    llm_env.reply(json={"answer": "forty-two"})
    events: list[Any] = []
    result = await _agent("calculator").arun({"question": "6 times 7?"}, subscribers=[events.append])
    assert result.status == "completed", result.error
    assert result.outputs["answer"] == "forty-two"
    first, second = llm_env.requests
    assert [t["function"]["name"] for t in first["tools"]] == ["calculator"]
    assert _tool_messages(second) == [{"role": "tool", "tool_call_id": "c1", "content": "42"}]
    calls = [e for e in events if e.type == "tool_called"]
    assert len(calls) == 1
    assert (calls[0].tool, calls[0].arguments, calls[0].result, calls[0].error) == \
        ("calculator", {"expression": "6 * 7"}, 42, None)
    # both round trips are counted
    assert result.total_tokens == 2 * 15


async def test_tool_error_with_on_error_continue_goes_back_to_the_model(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(tool_calls=[{"id": "c1", "name": "calculator", "arguments": {"expression": "1/0"}}])
    llm_env.reply(json={"answer": "undefined"})
    result = await _agent("{name: calculator, on_error: continue}").arun({"question": "1/0?"})
    assert result.status == "completed", result.error
    assert result.outputs["answer"] == "undefined"
    [tool_message] = _tool_messages(llm_env.requests[1])
    assert "division by zero" in json.loads(tool_message["content"])["error"]


async def test_tool_error_with_on_error_fail_fails_the_node(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(tool_calls=[{"id": "c1", "name": "calculator", "arguments": {"expression": "1/0"}}])
    events: list[Any] = []
    result = await _agent("{name: calculator, on_error: fail}").arun(
        {"question": "1/0?"}, subscribers=[events.append])
    assert result.status == "failed"
    assert len(llm_env.requests) == 1  # the loop stops at the failing tool: no further model call
    assert result.error is not None
    assert "node 'solve'" in result.error and "on_error: fail" in result.error
    assert "division by zero" in result.error
    assert result.outputs["answer"] is None
    assert [e.type for e in events if e.type in ("node_failed", "execution_finished")] == \
        ["node_failed", "execution_finished"]


async def test_tool_node_with_templated_args(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"comment": "fourteen"})
    events: list[Any] = []
    wf = cagents.load(textwrap.dedent(TOOL_NODE).replace("TOOL", "calculator"))
    result = await wf.arun({"expr": "3 + 4"}, subscribers=[events.append])
    assert result.status == "completed", result.error
    assert result.outputs["value"] == 14
    assert llm_env.requests[0]["messages"][-1]["content"] == "Explain 14"
    [call] = [e for e in events if e.type == "tool_called"]
    assert call.arguments == {"expression": "(3 + 4) * 2"} and call.result == 14


async def test_tool_node_failure_names_the_node(llm_env: ScriptedLLMServer) -> None:
    wf = cagents.load(textwrap.dedent(TOOL_NODE).replace("TOOL", "calculator"))
    result = await wf.arun({"expr": "import os"})
    assert result.status == "failed"
    assert "node 'compute'" in (result.error or "") and "calculator" in (result.error or "")
    assert llm_env.requests == []


async def test_tool_node_on_error_continue_keeps_going(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"comment": "no value"})
    wf = cagents.load(textwrap.dedent(TOOL_NODE).replace(
        "TOOL", "{name: calculator, on_error: continue}"))
    events: list[Any] = []
    result = await wf.arun({"expr": "1/0"}, subscribers=[events.append])
    assert result.status == "completed", result.error
    assert result.outputs["value"] is None and result.outputs["comment"] == "no value"
    [finished] = [e for e in events if e.type == "node_finished" and e.node_id == "compute"]
    assert finished.note is not None and "division by zero" in finished.note
