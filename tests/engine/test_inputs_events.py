"""Input checking before any model call, and the events a run emits (including streamed
tokens), against the scripted server."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

import cagents
from cagents.engine import Workflow
from cagents.errors import InputError
from support.llm_server import ScriptedLLMServer

FLOW = """
schema_version: "1.0"
flow: {name: inputs}
state:
  fields:
    topic: {type: str, required: true}
    count: {type: int, required: true}
    tags: {type: "list[str]", default: []}
    ratio: {type: float, default: 0.5}
    summary: {type: str}
    title: {type: str}
nodes:
  - {id: summarize, prompt: "Summarize {topic} in {count} points", outputs: [summary]}
  - {id: headline, prompt: "Headline for {summary}", outputs: [title]}
edges:
  - {from: START, to: summarize}
  - {from: summarize, to: headline}
  - {from: headline, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""


def _load() -> Workflow:
    return cagents.load(textwrap.dedent(FLOW))


def test_bad_inputs_raise_one_error_listing_every_problem(llm_env: ScriptedLLMServer) -> None:
    wf = _load()
    with pytest.raises(InputError) as caught:
        wf.run({"count": "three", "tags": ["a", 2], "topik": "x"})
    problems = caught.value.problems
    assert set(problems) == {"topic", "count", "tags", "topik"}
    assert "required" in problems["topic"]
    assert "int" in problems["count"]
    assert "tags[1]" in problems["tags"]
    assert "did you mean `topic`" in problems["topik"]
    message = str(caught.value)
    assert all(name in message for name in problems)
    assert caught.value.to_dict()["fields"] == problems
    assert llm_env.requests == []


async def test_bad_inputs_fail_at_start_before_any_request(llm_env: ScriptedLLMServer) -> None:
    with pytest.raises(InputError) as caught:
        _load().start({"topic": 3, "count": 1.5})
    assert set(caught.value.problems) == {"topic", "count"}
    with pytest.raises(InputError):
        await _load().arun({"topic": "x"})
    assert llm_env.requests == []


async def test_coerce_inputs_turns_text_into_typed_values(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"summary": "S"})
    llm_env.reply(json={"title": "T"})
    result = await _load().arun({"topic": "owls", "count": "3", "ratio": "2"}, coerce_inputs=True)
    assert result.status == "completed", result.error
    assert result.outputs["count"] == 3 and result.outputs["ratio"] == 2.0
    assert llm_env.requests[0]["messages"][-1]["content"] == "Summarize owls in 3 points"
    with pytest.raises(InputError):
        _load().start({"topic": "owls", "count": "3"})


async def test_keyword_inputs(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"summary": "S"})
    llm_env.reply(json={"title": "T"})
    result = await _load().arun(topic="owls", count=2)
    assert result.status == "completed" and result.outputs["tags"] == []


async def test_event_sequence_of_a_two_node_run(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"summary": "S"}, usage=(100, 20))
    llm_env.reply(json={"title": "T"}, usage=(50, 10))
    events: list[Any] = []
    result = await _load().arun({"topic": "owls", "count": 2}, subscribers=[events.append])
    assert result.status == "completed", result.error
    assert [e.type for e in events] == [
        "execution_accepted", "execution_started",
        "node_started", "node_finished", "checkpoint_written",
        "node_started", "node_finished", "checkpoint_written",
        "execution_finished",
    ]
    assert len({e.execution_id for e in events}) == 1
    accepted = events[0]
    assert accepted.workflow_name == "inputs" and accepted.inputs == {"topic": "owls", "count": 2}
    started = [e for e in events if e.type == "node_started"]
    assert [(e.node_id, e.step, e.kind) for e in started] == [("summarize", 1, "llm"), ("headline", 2, "llm")]
    finished = [e for e in events if e.type == "node_finished"]
    assert [(e.node_id, e.tokens, e.outputs) for e in finished] == [
        ("summarize", 120, {"summary": "S"}), ("headline", 60, {"title": "T"})]
    assert finished[0].cost_usd == pytest.approx((100 * 0.15 + 20 * 0.6) / 1e6)
    end = events[-1]
    assert end.status == "completed" and end.error is None
    assert end.total_tokens == 180 == result.total_tokens
    assert end.total_cost_usd == pytest.approx((150 * 0.15 + 30 * 0.6) / 1e6)
    assert all(isinstance(e.to_dict(), dict) and e.to_dict()["type"] == e.type for e in events)
    times = [e.at for e in events]
    assert times == sorted(times)


async def test_a_broken_subscriber_does_not_break_the_run(
    llm_env: ScriptedLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    llm_env.reply(json={"summary": "S"})
    llm_env.reply(json={"title": "T"})

    def broken(event: Any) -> None:
        raise RuntimeError("subscriber bug")

    result = await _load().arun({"topic": "owls", "count": 2}, subscribers=[broken])
    assert result.status == "completed"
    assert "event subscriber failed" in caplog.text


async def test_streaming_emits_tokens(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"summary": "owls hunt at night"})
    llm_env.reply(json={"title": "Night owls"})
    events: list[Any] = []
    result = await _load().arun({"topic": "owls", "count": 2}, stream=True, subscribers=[events.append])
    assert result.status == "completed", result.error
    assert result.outputs["title"] == "Night owls"
    assert all(r.get("stream") is True for r in llm_env.requests)
    tokens = [e for e in events if e.type == "token_streamed"]
    by_node = {node: "".join(e.text for e in tokens if e.node_id == node) for node in ("summarize", "headline")}
    assert by_node == {"summarize": '{"summary": "owls hunt at night"}', "headline": '{"title": "Night owls"}'}
    assert len([e for e in tokens if e.node_id == "summarize"]) > 1
    # tokens of a node come between its start and its end
    types = [(e.type, getattr(e, "node_id", None)) for e in events]
    first_token = types.index(("token_streamed", "summarize"))
    assert types.index(("node_started", "summarize")) < first_token < types.index(("node_finished", "summarize"))
    assert result.total_tokens == 30
