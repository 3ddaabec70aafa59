"""Whole workflows: a configurable-agents 1.0 config run unchanged against the scripted
server, every edge kind run offline by the simulator, and cost / bottleneck accounting."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

import cagents
from cagents.engine import MemoryRecorder
from support.llm_server import Reply, ScriptedLLMServer

CA_CONFIG = Path(__file__).parent / "workflows" / "configurable_agents_1_0.yaml"

EVERY_EDGE = """
schema_version: "1.0"
flow: {name: every_edge}
state:
  fields:
    topic: {type: str, required: true}
    plan: {type: str}
    questions: {type: "list[str]"}
    answer: {type: str}
    answers: {type: "list[str]"}
    facts: {type: str}
    risks: {type: str}
    score: {type: int}
    draft: {type: str}
    done: {type: bool, default: false}
    report: {type: str}
    total: {type: int}
nodes:
  - {id: plan, prompt: "Plan research on {topic}", outputs: [plan, questions]}
  - {id: ask, prompt: "Answer {item}", outputs: [answer]}
  - {id: organize, prompt: "Organize {answers}", outputs: [plan]}
  - {id: facts, prompt: "Facts from {answers}", outputs: [facts]}
  - {id: risks, prompt: "Risks from {answers}", outputs: [risks]}
  - {id: rate, prompt: "Rate {facts} and {risks}", outputs: [score]}
  - {id: refine, prompt: "Refine a draft on {topic}: {draft}", outputs: [draft, done]}
  - {id: count, code: "result = len(inputs['answers'])", inputs: {answers: "{answers}"}, outputs: [total]}
  - {id: report, prompt: "Report {draft} ({total} answers)", outputs: [report]}
edges:
  - {from: START, to: plan}
  - {from: plan, parallel: {items_field: questions, target_node: ask, collect_field: answers}}
  - {from: ask, to: organize}
  - {from: organize, to: [facts, risks]}
  - {from: facts, to: rate}
  - {from: risks, to: rate}
  - from: rate
    routes:
      - {condition: {logic: "state.score > 100"}, to: report}
      - {condition: {logic: default}, to: refine}
  - {from: refine, loop: {condition_field: done, max_iterations: 2, exit_to: count}}
  - {from: count, to: report}
  - {from: report, to: END}
config:
  llm: {provider: openai, model: gpt-4o-mini}
"""


def _by_prefix(answers: dict[str, Any]) -> Any:
    counts: dict[str, int] = {}

    def respond(body: dict[str, Any]) -> Reply:
        prompt = body["messages"][-1]["content"]
        word = prompt.split()[0]
        counts[word] = counts.get(word, 0) + 1
        value = answers[word]
        return Reply(json.dumps(value(counts[word], prompt) if callable(value) else value))

    return respond


def _ca_answers(rating: int) -> dict[str, Any]:
    return {
        "Plan": {"sections": ["Intro", "Body", "End"]},
        "Write": lambda n, prompt: {"section_text": "text of " + prompt.split("'")[1]},
        "Review": lambda n, prompt: {"review": {"score": 5 + n, "comments": f"round {n}"},
                                     "approved": n >= 2},
        "Rate": {"score": rating},
        "Publish": {"article": "the article"},
        "Plan a revision": {"revision_plan": "rework"},
    }


async def test_configurable_agents_config_runs_unchanged(llm_env: ScriptedLLMServer) -> None:
    answers = _ca_answers(9)
    llm_env.responder = _by_prefix(answers)
    result = await cagents.load(CA_CONFIG).arun({"topic": "tides"})
    assert result.status == "completed", result.error
    out = result.outputs
    assert out["sections"] == ["Intro", "Body", "End"]
    assert out["drafts"] == ["text of Intro", "text of Body", "text of End"]
    assert out["review"] == {"score": 7, "comments": "round 2"} and out["approved"] is True
    assert out["score"] == 9 and out["article"] == "the article" and out["revision_plan"] is None
    words = [r["messages"][-1]["content"].split()[0] for r in llm_env.requests]
    assert words == ["Plan", "Write", "Write", "Write", "Review", "Review", "Rate", "Publish"]
    first = llm_env.requests[0]
    assert first["messages"][0] == {"role": "system", "content": "You plan articles."}
    assert first["temperature"] == 0.3 and first["max_tokens"] == 800
    rate = llm_env.requests[6]["response_format"]["json_schema"]["schema"]
    assert rate["properties"]["score"]["type"] == "integer"
    review = llm_env.requests[4]["response_format"]["json_schema"]["schema"]
    assert review["properties"]["review"]["required"] == ["score", "comments"]
    assert llm_env.requests[-1]["messages"][-1]["content"] == \
        'Publish the article (rated 9): ["text of Intro", "text of Body", "text of End"]'


async def test_configurable_agents_config_default_route(llm_env: ScriptedLLMServer) -> None:
    llm_env.responder = _by_prefix({**_ca_answers(4), "Plan": lambda n, prompt: (
        {"sections": ["Only"]} if prompt.startswith("Plan the") else {"revision_plan": "rework"})})
    result = await cagents.load(CA_CONFIG).arun({"topic": "tides"})
    assert result.status == "completed", result.error
    assert result.outputs["revision_plan"] == "rework" and result.outputs["article"] is None
    assert llm_env.requests[-1]["messages"][-1]["content"] == "Plan a revision given: round 2"


def test_simulator_runs_every_edge_kind_offline() -> None:
    """No gateway, no keys: the offline simulator answers and the result says so."""
    events: list[Any] = []
    result = cagents.load(textwrap.dedent(EVERY_EDGE)).run({"topic": "tides"}, subscribers=[events.append])
    assert result.status == "completed", result.error
    assert result.simulated is True
    out = result.outputs
    assert isinstance(out["questions"], list) and len(out["answers"]) == len(out["questions"]) >= 1
    assert out["total"] == len(out["answers"])
    assert all(isinstance(a, str) for a in out["answers"])
    assert out["facts"] and out["risks"] and out["report"]
    nodes = result.bottleneck["nodes"]
    assert nodes["refine"]["runs"] == 2  # the simulator never says done: the bound holds
    assert nodes["rate"]["runs"] == 1 and nodes["report"]["runs"] == 1
    assert nodes["ask"]["runs"] == len(out["questions"])
    llm_nodes = {"plan", "ask", "organize", "facts", "risks", "rate", "refine", "report"}
    assert all(nodes[n]["simulated"] for n in llm_nodes) and not nodes["count"]["simulated"]
    assert result.total_cost_usd == 0.0 and result.total_tokens > 0
    simulated = {e.node_id for e in events if e.type == "node_finished" and e.simulated}
    assert simulated == llm_nodes


def test_simulator_runs_the_configurable_agents_config() -> None:
    result = cagents.load(CA_CONFIG).run({"topic": "tides"})
    assert result.status == "completed", result.error
    assert result.simulated is True
    assert len(result.outputs["drafts"]) == len(result.outputs["sections"])


async def test_cost_and_bottleneck(llm_env: ScriptedLLMServer) -> None:
    text = textwrap.dedent("""
    schema_version: "1.0"
    flow: {name: costs}
    state:
      fields:
        q: {type: str, required: true}
        a: {type: str}
        b: {type: str}
        c: {type: str}
    nodes:
      - {id: cheap, prompt: "cheap {q}", outputs: [a]}
      - {id: slow, prompt: "slow {a}", outputs: [b], llm: {model: gpt-4o}}
      - {id: unknown, prompt: "unknown {b}", outputs: [c], llm: {model: house-model-7}}
    edges:
      - {from: START, to: cheap}
      - {from: cheap, to: slow}
      - {from: slow, to: unknown}
      - {from: unknown, to: END}
    config:
      llm: {model: gpt-4o-mini}
      execution: {max_retries: 0}
    """)
    llm_env.reply(json={"a": "A"}, usage=(1000, 200))
    llm_env.reply(json={"b": "B"}, usage=(2000, 500), delay=0.25)
    llm_env.reply(json={"c": "C"}, usage=(300, 100))
    recorder = MemoryRecorder()
    result = await cagents.load(text).arun({"q": "?"}, recorder=recorder)
    assert result.status == "completed", result.error
    cheap = (1000 * 0.15 + 200 * 0.6) / 1e6
    slow = (2000 * 2.5 + 500 * 10.0) / 1e6
    assert result.total_cost_usd == pytest.approx(cheap + slow)
    assert result.total_tokens == 1200 + 2500 + 400
    nodes = result.bottleneck["nodes"]
    assert nodes["cheap"]["cost_usd"] == pytest.approx(cheap)
    assert nodes["slow"]["cost_usd"] == pytest.approx(slow)
    assert nodes["unknown"]["cost_usd"] == 0.0 and nodes["unknown"]["tokens"] == 400
    assert result.bottleneck["bottleneck_node"] == "slow"
    assert nodes["slow"]["duration_s"] >= 0.25
    assert sum(n["share"] for n in nodes.values()) == pytest.approx(1.0, abs=1e-3)
    assert max(nodes, key=lambda n: nodes[n]["share"]) == "slow"
    summary = recorder.summaries[result.execution_id]
    assert summary.total_cost_usd == result.total_cost_usd and summary.total_tokens == result.total_tokens
    assert summary.bottleneck["bottleneck_node"] == "slow"
    models = [r["model"] for r in llm_env.requests]
    assert models == ["gpt-4o-mini", "gpt-4o", "house-model-7"]


async def test_map_items_are_counted_in_cost(llm_env: ScriptedLLMServer) -> None:
    text = textwrap.dedent("""
    schema_version: "1.0"
    flow: {name: map_cost}
    state:
      fields:
        docs: {type: "list[str]", required: true}
        ready: {type: bool}
        summary: {type: str}
        summaries: {type: "list[str]"}
    nodes:
      - {id: start, prompt: "start", outputs: [ready]}
      - {id: summarize, prompt: "summarize {item}", outputs: [summary]}
    edges:
      - {from: START, to: start}
      - {from: start, parallel: {items_field: docs, target_node: summarize, collect_field: summaries}}
      - {from: summarize, to: END}
    config:
      llm: {model: gpt-4o-mini}
      execution: {max_retries: 0}
    """)
    llm_env.responder = lambda body: Reply(
        json.dumps({"ready": True} if body["messages"][-1]["content"] == "start" else {"summary": "s"}),
        usage=(100, 10))
    result = await cagents.load(text).arun({"docs": ["x", "y", "z"]})
    assert result.status == "completed", result.error
    one = (100 * 0.15 + 10 * 0.6) / 1e6
    assert result.total_tokens == 4 * 110
    assert result.total_cost_usd == pytest.approx(4 * one)
    summarize = result.bottleneck["nodes"]["summarize"]
    assert summarize["runs"] == 3 and summarize["tokens"] == 330
    assert summarize["cost_usd"] == pytest.approx(3 * one)
