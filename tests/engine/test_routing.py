"""Conditional routes and bounded loops, run end to end against the scripted server."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import cagents
from cagents.engine import MemoryRecorder, Workflow
from support.llm_server import Reply, ScriptedLLMServer

ROUTES = """
schema_version: "1.0"
flow: {name: routes}
state:
  fields:
    text: {type: str, required: true}
    score: {type: int}
    label: {type: str}
nodes:
  - {id: grade, prompt: "Grade {text}", outputs: [score]}
  - {id: praise, prompt: "Praise {text}", outputs: [label]}
  - {id: fix, prompt: "Fix {text}", outputs: [label]}
  - {id: shrug, prompt: "Shrug at {text}", outputs: [label]}
edges:
  - {from: START, to: grade}
  - from: grade
    routes:
      - {condition: {logic: "state.score >= 8"}, to: praise}
      - {when: "score < 3", to: fix}
      - {condition: {logic: default}, to: shrug}
  - {from: praise, to: END}
  - {from: fix, to: END}
  - {from: shrug, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""

LOOP = """
schema_version: "1.0"
flow: {name: loop}
state:
  fields:
    topic: {type: str, required: true}
    draft: {type: str, default: ""}
    done: {type: bool, default: false}
    final: {type: str}
nodes:
  - {id: refine, prompt: "Improve [{draft}] about {topic}", outputs: [draft, done]}
  - {id: publish, prompt: "Publish {draft}", outputs: [final]}
edges:
  - {from: START, to: refine}
  - {from: refine, loop: {condition_field: done, max_iterations: 3, exit_to: publish}}
  - {from: publish, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""

BACK_TO = """
schema_version: "1.0"
flow: {name: back_to}
state:
  fields:
    topic: {type: str, required: true}
    draft: {type: str, default: ""}
    critique: {type: str, default: ""}
    done: {type: bool, default: false}
    final: {type: str}
nodes:
  - {id: write, prompt: "Write about {topic}; last critique: [{critique}]", outputs: [draft]}
  - {id: review, prompt: "Review [{draft}]", outputs: [critique, done]}
  - {id: publish, prompt: "Publish {draft}", outputs: [final]}
edges:
  - {from: START, to: write}
  - {from: write, to: review}
  - {from: review, loop: {condition_field: state.done, max_iterations: 3, exit_to: publish, back_to: write}}
  - {from: publish, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""


def _load(text: str) -> Workflow:
    return cagents.load(textwrap.dedent(text))


def _prompt(request: dict[str, Any]) -> str:
    return request["messages"][-1]["content"]


def _by_prefix(answers: dict[str, Any]) -> Any:
    """A responder answering each node by the first word of its prompt."""
    counts: dict[str, int] = {}

    def respond(body: dict[str, Any]) -> Reply:
        word = _prompt(body).split()[0]
        counts[word] = counts.get(word, 0) + 1
        value = answers[word]
        return Reply(json.dumps(value(counts[word]) if callable(value) else value))

    return respond


async def _route(llm_env: ScriptedLLMServer, score: int) -> tuple[str, list[str]]:
    llm_env.responder = _by_prefix({
        "Grade": {"score": score}, "Praise": {"label": "praised"},
        "Fix": {"label": "fixed"}, "Shrug": {"label": "shrugged"}})
    result = await _load(ROUTES).arun({"text": "essay"})
    assert result.status == "completed", result.error
    return result.outputs["label"], [_prompt(r).split()[0] for r in llm_env.requests]


async def test_condition_logic_route(llm_env: ScriptedLLMServer) -> None:
    assert await _route(llm_env, 9) == ("praised", ["Grade", "Praise"])


async def test_when_shorthand_route(llm_env: ScriptedLLMServer) -> None:
    assert await _route(llm_env, 1) == ("fixed", ["Grade", "Fix"])


async def test_default_route(llm_env: ScriptedLLMServer) -> None:
    assert await _route(llm_env, 5) == ("shrugged", ["Grade", "Shrug"])


async def test_no_route_matched_without_default_fails_clearly(llm_env: ScriptedLLMServer) -> None:
    text = ROUTES.replace("      - {condition: {logic: default}, to: shrug}\n", "").replace(
        "  - {from: shrug, to: END}\n", "").replace(
        '  - {id: shrug, prompt: "Shrug at {text}", outputs: [label]}\n', "")
    llm_env.reply(json={"score": 5})
    recorder = MemoryRecorder()
    result = await _load(text).arun({"text": "essay"}, recorder=recorder)
    assert result.status == "failed"
    assert result.error is not None
    assert "node 'grade'" in result.error and "no route matched" in result.error
    assert "state.score >= 8" in result.error and "score < 3" in result.error
    assert "default" in result.error
    assert result.outputs["score"] == 5
    assert len(llm_env.requests) == 1
    assert recorder.summaries[result.execution_id].status == "failed"


async def test_loop_stops_when_condition_field_becomes_true(llm_env: ScriptedLLMServer) -> None:
    llm_env.responder = _by_prefix({
        "Improve": lambda n: {"draft": f"v{n}", "done": n >= 2},
        "Publish": {"final": "published"}})
    result = await _load(LOOP).arun({"topic": "owls"})
    assert result.status == "completed", result.error
    prompts = [_prompt(r) for r in llm_env.requests]
    assert prompts == ["Improve [] about owls", "Improve [v1] about owls", "Publish v2"]
    assert result.outputs["final"] == "published" and result.outputs["done"] is True
    assert result.bottleneck["nodes"]["refine"]["runs"] == 2


async def test_loop_stops_at_max_iterations(llm_env: ScriptedLLMServer) -> None:
    llm_env.responder = _by_prefix({
        "Improve": lambda n: {"draft": f"v{n}", "done": False},
        "Publish": {"final": "published"}})
    result = await _load(LOOP).arun({"topic": "owls"})
    assert result.status == "completed", result.error
    words = [_prompt(r).split()[0] for r in llm_env.requests]
    assert words == ["Improve", "Improve", "Improve", "Publish"]
    assert _prompt(llm_env.requests[-1]) == "Publish v3"
    assert result.outputs["done"] is False and result.outputs["final"] == "published"


async def test_loop_back_to_over_two_nodes(llm_env: ScriptedLLMServer) -> None:
    llm_env.responder = _by_prefix({
        "Write": lambda n: {"draft": f"d{n}"},
        "Review": lambda n: {"critique": f"c{n}", "done": n >= 2},
        "Publish": {"final": "ok"}})
    result = await _load(BACK_TO).arun({"topic": "owls"})
    assert result.status == "completed", result.error
    prompts = [_prompt(r) for r in llm_env.requests]
    assert prompts == [
        "Write about owls; last critique: []",
        "Review [d1]",
        "Write about owls; last critique: [c1]",
        "Review [d2]",
        "Publish d2",
    ]


async def test_loop_back_to_bounded_by_max_iterations(llm_env: ScriptedLLMServer) -> None:
    llm_env.responder = _by_prefix({
        "Write": lambda n: {"draft": f"d{n}"},
        "Review": lambda n: {"critique": f"c{n}", "done": False},
        "Publish": {"final": "ok"}})
    result = await _load(BACK_TO).arun({"topic": "owls"})
    assert result.status == "completed", result.error
    words = [_prompt(r).split()[0] for r in llm_env.requests]
    assert words == ["Write", "Review"] * 3 + ["Publish"]
    assert result.outputs["critique"] == "c3"
