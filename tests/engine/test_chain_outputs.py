"""Linear chains and structured output, end to end through the openai client and the
scripted server: prompts see earlier outputs, typed outputs land in state, bad answers are
repaired or fail the node without losing what ran before."""

from __future__ import annotations

import json
import textwrap

import cagents
from cagents.engine import MemoryRecorder, Workflow
from support.llm_server import Reply, ScriptedLLMServer

CHAIN = """
schema_version: "1.0"
flow: {name: chain}
state:
  fields:
    topic: {type: str, required: true}
    outline: {type: str}
    draft: {type: str}
    title: {type: str}
nodes:
  - {id: plan, prompt: "Outline an essay on {topic}.", outputs: [outline]}
  - {id: write, prompt: "Write the essay from this outline: {state.outline}", outputs: [draft]}
  - {id: name, prompt: "Title for [{draft}] (outline was [{outline}], topic {state.topic})", outputs: [title]}
edges:
  - {from: START, to: plan}
  - {from: plan, to: write}
  - {from: write, to: name}
  - {from: name, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""

TYPED = """
schema_version: "1.0"
flow: {name: typed}
state:
  fields:
    topic: {type: str, required: true}
    note: {type: str}
    profile:
      type: object
      schema:
        name: str
        address: {type: object, schema: {city: str, zip: int}}
    scores: {type: "list[int]"}
    ratio: {type: float}
nodes:
  - {id: note_it, prompt: "Note on {topic}", outputs: [note]}
  - {id: profile_it, prompt: "Profile from {note}", outputs: [profile, scores, ratio]}
edges:
  - {from: START, to: note_it}
  - {from: note_it, to: profile_it}
  - {from: profile_it, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""

GOOD_PROFILE = {"name": "Ann", "address": {"city": "Oslo", "zip": 150}}


def _load(text: str) -> Workflow:
    return cagents.load(textwrap.dedent(text))


def _user_prompt(request: dict) -> str:
    return [m for m in request["messages"] if m["role"] == "user"][0]["content"]


async def test_chain_prompts_render_earlier_outputs(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"outline": "OUTLINE-1"})
    llm_env.reply(json={"draft": "DRAFT-2"})
    llm_env.reply(json={"title": "TITLE-3"})
    result = await _load(CHAIN).arun({"topic": "tides"})
    assert result.status == "completed", result.error
    assert result.outputs == {"topic": "tides", "outline": "OUTLINE-1", "draft": "DRAFT-2",
                              "title": "TITLE-3"}
    prompts = [_user_prompt(r) for r in llm_env.requests]
    assert prompts == [
        "Outline an essay on tides.",
        "Write the essay from this outline: OUTLINE-1",
        "Title for [DRAFT-2] (outline was [OUTLINE-1], topic tides)",
    ]
    # each node asks for exactly its own outputs
    schemas = [r["response_format"]["json_schema"]["schema"] for r in llm_env.requests]
    assert [s["required"] for s in schemas] == [["outline"], ["draft"], ["title"]]


async def test_structured_output_into_typed_fields(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"note": "n"})
    llm_env.reply(json={"profile": GOOD_PROFILE, "scores": [3, 1, 2], "ratio": 2})
    result = await _load(TYPED).arun({"topic": "t"})
    assert result.status == "completed", result.error
    assert result.outputs["profile"] == GOOD_PROFILE
    assert result.outputs["scores"] == [3, 1, 2]
    assert result.outputs["ratio"] == 2.0 and isinstance(result.outputs["ratio"], float)
    schema = llm_env.requests[1]["response_format"]["json_schema"]["schema"]
    address = schema["properties"]["profile"]["properties"]["address"]
    assert address["properties"]["zip"] == {"type": "integer"}
    assert schema["properties"]["scores"] == {"type": "array", "items": {"type": "integer"}}
    assert schema["properties"]["ratio"]["type"] == "number"


async def test_invalid_output_is_repaired_with_the_error_shown(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"note": "n"})
    llm_env.reply(json={"profile": GOOD_PROFILE, "scores": [1, "two"], "ratio": 0.5})
    llm_env.reply(json={"profile": GOOD_PROFILE, "scores": [1, 2], "ratio": 0.5})
    result = await _load(TYPED).arun({"topic": "t"})
    assert result.status == "completed", result.error
    assert result.outputs["scores"] == [1, 2]
    assert len(llm_env.requests) == 3
    repair = llm_env.requests[2]["messages"]
    assert repair[-2]["role"] == "assistant" and '"two"' in repair[-2]["content"]
    assert repair[-1]["role"] == "user"
    assert "scores[1]" in repair[-1]["content"] and "integer" in repair[-1]["content"]


async def test_output_invalid_on_every_attempt_fails_the_node(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"note": "kept"})
    bad = {"profile": {"name": "Ann", "address": {"city": "Oslo"}}, "scores": [1], "ratio": 1.0}
    llm_env.responder = lambda body: Reply(json.dumps(bad))
    recorder = MemoryRecorder()
    result = await _load(TYPED).arun({"topic": "t"}, recorder=recorder)
    assert result.status == "failed"
    assert result.error is not None
    assert "node 'profile_it'" in result.error and "profile.address.zip" in result.error
    assert result.error.count("node 'profile_it'") == 1
    # one first answer plus two repairs (max_repair_attempts), then the node gives up
    assert len(llm_env.requests) == 1 + 3
    checkpoints = recorder.checkpoints[result.execution_id]
    assert [c.node_id for c in checkpoints] == ["note_it"]
    assert checkpoints[0].state["note"] == "kept"
    assert result.outputs["note"] == "kept" and result.outputs["profile"] is None
    summary = recorder.summaries[result.execution_id]
    assert summary.status == "failed" and summary.error == result.error


async def test_float_field_rejects_text(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"note": "n"})
    llm_env.responder = lambda body: Reply(json.dumps(
        {"profile": GOOD_PROFILE, "scores": [], "ratio": "high"}))
    result = await _load(TYPED).arun({"topic": "t"})
    assert result.status == "failed"
    assert "node 'profile_it'" in (result.error or "") and "ratio" in (result.error or "")


async def test_structured_output_without_json_schema_mode(llm_env: ScriptedLLMServer) -> None:
    """A server without response_format json_schema still yields typed fields (prompt form)."""
    llm_env.supports_json_schema = False
    llm_env.reply(json={"note": "n"})
    llm_env.reply("```json\n" + json.dumps(
        {"profile": GOOD_PROFILE, "scores": [5], "ratio": 1}) + "\n```")
    result = await _load(TYPED).arun({"topic": "t"})
    assert result.status == "completed", result.error
    assert result.outputs["scores"] == [5] and result.outputs["ratio"] == 1.0
    # the first request is refused for its response_format; the rest use the prompt form
    assert len(llm_env.requests) == 3
    assert "response_format" in llm_env.requests[0]
    assert all("response_format" not in r for r in llm_env.requests[1:])
    assert "JSON Schema" in llm_env.requests[2]["messages"][0]["content"]
