"""Code nodes in workflows: typed inputs into the sandbox, results into state, failures
that name the node; mixed with LLM nodes against the scripted server."""

from __future__ import annotations

import textwrap
from typing import Any

import cagents
from cagents.engine import MemoryRecorder, Workflow
from support.llm_server import ScriptedLLMServer

SUM = """
schema_version: "1.0"
flow: {name: code}
state:
  fields:
    values: {type: "list[int]", required: true}
    total: {type: int}
    count: {type: int}
    mean: {type: float}
    comment: {type: str}
nodes:
  - id: add
    kind: code
    inputs: {numbers: "{values}"}
    code: |
      CODE
    outputs: [OUTPUTS]
    sandbox: {preset: low, timeout: 20}NODE
  - {id: explain, prompt: "Explain total {total} of {values}", outputs: [comment]}
edges:
  - {from: START, to: add}
  - {from: add, to: explain}
  - {from: explain, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""

MAP = """
schema_version: "1.0"
flow: {name: code_map}
state:
  fields:
    words: {type: "list[str]", required: true}
    length: {type: int}
    lengths: {type: "list[int]"}
    ready: {type: bool}
nodes:
  - {id: prepare, prompt: "Prepare {words}", outputs: [ready]}
  - id: measure
    code: |
      result = len(inputs["item"]) * 10 + inputs["item_index"]
    outputs: [length]
edges:
  - {from: START, to: prepare}
  - {from: prepare, parallel: {items_field: words, target_node: measure, collect_field: lengths}}
  - {from: measure, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""


def _load(code: str, outputs: str = "total", node: str = "") -> Workflow:
    text = textwrap.dedent(SUM).replace("CODE", textwrap.indent(textwrap.dedent(code), "      ").strip())
    return cagents.load(text.replace("OUTPUTS", outputs).replace("NODE", node))


async def test_code_node_sums_a_list(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"comment": "six"})
    events: list[Any] = []
    result = await _load('result = sum(inputs["numbers"])').arun(
        {"values": [1, 2, 3]}, subscribers=[events.append])
    assert result.status == "completed", result.error
    assert result.outputs["total"] == 6 and isinstance(result.outputs["total"], int)
    assert llm_env.requests[0]["messages"][-1]["content"] == "Explain total 6 of [1, 2, 3]"
    assert [e.kind for e in events if e.type == "node_started"] == ["code", "llm"]


async def test_code_node_with_several_outputs_and_stdout(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"comment": "ok"})
    code = """
    numbers = inputs["numbers"]
    print("counting", len(numbers))
    result = {"total": sum(numbers), "count": len(numbers), "mean": sum(numbers) / len(numbers)}
    """
    events: list[Any] = []
    result = await _load(code, "total, count, mean").arun({"values": [2, 4]}, subscribers=[events.append])
    assert result.status == "completed", result.error
    assert (result.outputs["total"], result.outputs["count"], result.outputs["mean"]) == (6, 2, 3.0)
    [finished] = [e for e in events if e.type == "node_finished" and e.node_id == "add"]
    assert finished.outputs == {"total": 6, "count": 2, "mean": 3.0}
    assert finished.note is not None and "counting 2" in finished.note


async def test_failing_code_fails_the_node(llm_env: ScriptedLLMServer) -> None:
    code = """
    numbers = inputs["numbers"]
    raise ValueError("no negative numbers please")
    """
    recorder = MemoryRecorder()
    result = await _load(code).arun({"values": [-1]}, recorder=recorder)
    assert result.status == "failed"
    assert result.error is not None
    assert "node 'add'" in result.error
    assert "ValueError" in result.error and "no negative numbers please" in result.error
    assert result.outputs["total"] is None
    assert llm_env.requests == []
    assert recorder.summaries[result.execution_id].status == "failed"


async def test_code_result_of_the_wrong_type_names_node_and_field(llm_env: ScriptedLLMServer) -> None:
    result = await _load('result = "many"').arun({"values": [1]})
    assert result.status == "failed"
    assert "node 'add'" in (result.error or "") and "total" in (result.error or "")
    assert llm_env.requests == []


async def test_code_missing_an_output_names_it(llm_env: ScriptedLLMServer) -> None:
    result = await _load('result = {"total": 1}', "total, count").arun({"values": [1]})
    assert result.status == "failed"
    assert "node 'add'" in (result.error or "") and "count" in (result.error or "")


async def test_code_node_timeout(llm_env: ScriptedLLMServer) -> None:
    result = await _load("while True:\n    pass", node="\n    timeout: 0.5").arun({"values": [1]})
    assert result.status == "failed"
    assert "node 'add'" in (result.error or "") and "0.5" in (result.error or "")


async def test_code_node_as_map_target(llm_env: ScriptedLLMServer) -> None:
    """A map target that is code gets the item and its position in `inputs`."""
    llm_env.reply(json={"ready": True})
    result = await cagents.load(textwrap.dedent(MAP)).arun({"words": ["a", "bcd", "ef"]})
    assert result.status == "completed", result.error
    assert result.outputs["lengths"] == [10, 31, 22]
