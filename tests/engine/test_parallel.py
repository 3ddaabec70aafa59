"""Parallel map (one target run per item, collected in item order) and static fan-out with
a join, run end to end against the scripted server."""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
from typing import Any

import cagents
from cagents.engine import Workflow
from support.llm_server import Reply, ScriptedLLMServer

MAP = """
schema_version: "1.0"
flow: {name: map}
state:
  fields:
    topic: {type: str, required: true}
    docs: {type: "list[str]"}
    summary: {type: str}
    summaries: {type: "list[str]"}
    report: {type: str}
nodes:
  - {id: gather, prompt: "Gather docs on {topic}", outputs: [docs]}
  - {id: summarize, prompt: "Summarize #{item_index}: {item}", outputs: [summary]}
  - {id: combine, prompt: "Combine {summaries}", outputs: [report]}
edges:
  - {from: START, to: gather}
  - {from: gather, parallel: {items_field: docs, target_node: summarize, collect_field: summaries}}
  - {from: summarize, to: combine}
  - {from: combine, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""

MAP_MANY = """
schema_version: "1.0"
flow: {name: map_many}
state:
  fields:
    docs: {type: "list[str]", required: true}
    summary: {type: str}
    words: {type: int}
    results: {type: "list[dict]"}
    ready: {type: bool}
nodes:
  - {id: start, prompt: "Start with {docs}", outputs: [ready]}
  - {id: summarize, prompt: "Summarize #{item_index}: {item}", outputs: [summary, words]}
edges:
  - {from: START, to: start}
  - {from: start, parallel: {items_field: state.docs, target_node: summarize, collect_field: state.results}}
  - {from: summarize, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""

FANOUT = """
schema_version: "1.0"
flow: {name: fanout}
state:
  fields:
    topic: {type: str, required: true}
    plan: {type: str}
    pros: {type: str}
    cons: {type: str}
    more_pros: {type: str}
    verdict: {type: str}
nodes:
  - {id: a, prompt: "A plan {topic}", outputs: [plan]}
  - {id: b, prompt: "B pros of {plan}", outputs: [pros]}
  - {id: c, prompt: "C cons of {plan}", outputs: [cons]}
  - {id: d, prompt: "D verdict from {pros} / {cons}", outputs: [verdict]}
edges:
  - {from: START, to: a}
  - {from: a, to: [b, c]}
  - {from: b, to: d}
  - {from: c, to: d}
  - {from: d, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""


def _load(text: str) -> Workflow:
    return cagents.load(textwrap.dedent(text))


def _prompt(request: dict[str, Any]) -> str:
    return request["messages"][-1]["content"]


async def test_map_runs_target_per_item_and_collects_in_item_order(llm_env: ScriptedLLMServer) -> None:
    docs = ["alpha", "beta", "gamma", "delta"]
    arrivals: dict[str, float] = {}
    def respond(body: dict[str, Any]) -> Reply:
        prompt = _prompt(body)
        if prompt.startswith("Gather"):
            return Reply(json.dumps({"docs": docs}))
        if prompt.startswith("Combine"):
            return Reply(json.dumps({"report": "R"}))
        index = int(prompt.split("#")[1].split(":")[0])
        # later items answer first: item i at first arrival + 0.08 * (4 - i) seconds
        now = time.monotonic()
        first = arrivals.setdefault("first", now)
        answer_at = first + 0.08 * (len(docs) - index)
        return Reply(json.dumps({"summary": f"S({prompt.split(': ')[1]})"}),
                     delay=max(answer_at - now, 0.0))

    llm_env.responder = respond
    events: list[Any] = []
    result = await _load(MAP).arun({"topic": "greek"}, subscribers=[events.append])
    assert result.status == "completed", result.error
    assert result.outputs["summaries"] == ["S(alpha)", "S(beta)", "S(gamma)", "S(delta)"]
    prompts = sorted(_prompt(r) for r in llm_env.requests if _prompt(r).startswith("Summarize"))
    assert prompts == [f"Summarize #{i}: {d}" for i, d in enumerate(docs)]
    # the server really answered out of order
    item_done = [e.item_index for e in events if e.type == "node_finished" and e.item_index is not None]
    assert item_done == [3, 2, 1, 0]
    # then the run continued along the target's own edge, with the collection
    assert _prompt(llm_env.requests[-1]) == \
        'Combine ["S(alpha)", "S(beta)", "S(gamma)", "S(delta)"]'
    assert result.outputs["report"] == "R"
    assert result.bottleneck["nodes"]["summarize"]["runs"] == 4
    assert llm_env.peak_in_flight >= 2


async def test_map_over_empty_list_collects_nothing_and_continues(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"docs": []})
    llm_env.reply(json={"report": "empty"})
    result = await _load(MAP).arun({"topic": "nothing"})
    assert result.status == "completed", result.error
    assert result.outputs["summaries"] == []
    assert result.outputs["report"] == "empty"
    assert [_prompt(r) for r in llm_env.requests] == ["Gather docs on nothing", "Combine []"]


async def test_map_with_several_outputs_collects_dicts(llm_env: ScriptedLLMServer) -> None:
    def respond(body: dict[str, Any]) -> Reply:
        prompt = _prompt(body)
        if prompt.startswith("Start"):
            return Reply(json.dumps({"ready": True}))
        item = prompt.split(": ", 1)[1]
        return Reply(json.dumps({"summary": item.upper(), "words": len(item)}))

    llm_env.responder = respond
    result = await _load(MAP_MANY).arun({"docs": ["ab", "cde"]})
    assert result.status == "completed", result.error
    assert result.outputs["results"] == [{"summary": "AB", "words": 2}, {"summary": "CDE", "words": 3}]


async def test_map_item_failure_fails_the_run_naming_the_node(llm_env: ScriptedLLMServer) -> None:
    def respond(body: dict[str, Any]) -> Reply:
        prompt = _prompt(body)
        if prompt.startswith("Start"):
            return Reply(json.dumps({"ready": True}))
        if "#1" in prompt:
            return Reply(status=400, error="bad item")
        return Reply(json.dumps({"summary": "s", "words": 1}))

    llm_env.responder = respond
    result = await _load(MAP_MANY).arun({"docs": ["a", "b", "c"]})
    assert result.status == "failed"
    assert "node 'summarize'" in (result.error or "") and "bad item" in (result.error or "")
    assert result.outputs["results"] is None


async def test_map_item_failure_stops_the_other_items(llm_env: ScriptedLLMServer) -> None:
    """No item keeps running (and calling the model) after the run has failed."""
    def respond(body: dict[str, Any]) -> Reply:
        prompt = _prompt(body)
        if prompt.startswith("Start"):
            return Reply(json.dumps({"ready": True}))
        if "#0" in prompt:
            return Reply(status=400, error="bad item")
        return Reply(json.dumps({"summary": "s", "words": 1}), delay=0.2)

    llm_env.responder = respond
    events: list[Any] = []
    result = await _load(MAP_MANY).arun({"docs": ["a", "b", "c"]}, subscribers=[events.append])
    assert result.status == "failed"
    await asyncio.sleep(0.3)
    assert events[-1].type == "execution_finished"
    assert not [e for e in events if e.type == "node_finished" and e.node_id == "summarize"]


async def test_fanout_branches_run_concurrently_and_join_once(llm_env: ScriptedLLMServer) -> None:
    arrivals: dict[str, float] = {}

    def respond(body: dict[str, Any]) -> Reply:
        prompt = _prompt(body)
        letter = prompt[0]
        arrivals.setdefault(letter, time.monotonic())
        answers = {"A": {"plan": "P"}, "B": {"pros": "fast"}, "C": {"cons": "pricey"},
                   "D": {"verdict": "go"}}
        return Reply(json.dumps(answers[letter]), delay=0.3 if letter in "BC" else 0.0)

    llm_env.responder = respond
    result = await _load(FANOUT).arun({"topic": "x"})
    assert result.status == "completed", result.error
    letters = [_prompt(r)[0] for r in llm_env.requests]
    assert letters[0] == "A" and sorted(letters[1:3]) == ["B", "C"] and letters[3:] == ["D"]
    # both branch requests arrived before either was answered (each takes 0.3 s)
    assert abs(arrivals["B"] - arrivals["C"]) < 0.3
    assert llm_env.peak_in_flight == 2
    # the join ran once, after both branches, and saw both of their outputs
    assert _prompt(llm_env.requests[3]) == "D verdict from fast / pricey"
    assert arrivals["D"] >= max(arrivals["B"], arrivals["C"]) + 0.3
    assert result.outputs["verdict"] == "go"
    assert result.bottleneck["nodes"]["d"]["runs"] == 1


async def test_join_waits_for_the_longer_branch(llm_env: ScriptedLLMServer) -> None:
    text = FANOUT.replace("  - {from: b, to: d}\n", "  - {from: b, to: b2}\n  - {from: b2, to: d}\n").replace(
        '  - {id: d,', '  - {id: b2, prompt: "E more pros of {pros}", outputs: [more_pros]}\n  - {id: d,')
    text = text.replace('"D verdict from {pros} / {cons}"', '"D verdict from {more_pros} / {cons}"')

    def respond(body: dict[str, Any]) -> Reply:
        letter = _prompt(body)[0]
        answers = {"A": {"plan": "P"}, "B": {"pros": "fast"}, "C": {"cons": "pricey"},
                   "E": {"more_pros": "cheap"}, "D": {"verdict": "go"}}
        return Reply(json.dumps(answers[letter]))

    llm_env.responder = respond
    handle = _load(text).start({"topic": "x"})
    steps = []
    while not handle.done:
        steps.append((await handle.astep()).nodes)
    assert handle.status == "completed", handle.result().error
    assert steps == [["a"], ["b", "c"], ["b2"], ["d"]]
    assert [_prompt(r)[0] for r in llm_env.requests].count("D") == 1
    assert handle.state["verdict"] == "go"
    assert _prompt(llm_env.requests[-1]) == "D verdict from cheap / pricey"


async def test_map_respects_max_concurrency(llm_env: ScriptedLLMServer) -> None:
    text = MAP.replace("collect_field: summaries}", "collect_field: summaries, max_concurrency: 2}")

    def respond(body: dict[str, Any]) -> Reply:
        prompt = _prompt(body)
        if prompt.startswith("Gather"):
            return Reply(json.dumps({"docs": ["a", "b", "c", "d", "e"]}))
        if prompt.startswith("Combine"):
            return Reply(json.dumps({"report": "R"}))
        return Reply(json.dumps({"summary": prompt[-1]}), delay=0.05)

    llm_env.responder = respond
    result = await _load(text).arun({"topic": "x"})
    assert result.status == "completed", result.error
    assert result.outputs["summaries"] == ["a", "b", "c", "d", "e"]
    assert llm_env.peak_in_flight == 2
