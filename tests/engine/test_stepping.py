"""Driving a run step by step, from sync code, from async code and from inside a running
event loop (a notebook cell), against the scripted server."""

from __future__ import annotations

import asyncio
import textwrap
from typing import Any

import cagents
from cagents.engine import StepResult, Workflow
from support.llm_server import ScriptedLLMServer

CHAIN = """
schema_version: "1.0"
flow: {name: steps}
state:
  fields:
    topic: {type: str, required: true}
    outline: {type: str}
    draft: {type: str}
    words: {type: int, default: 0}
nodes:
  - {id: plan, prompt: "Plan {topic}", outputs: [outline]}
  - {id: write, prompt: "Write {outline}", outputs: [draft, words]}
edges:
  - {from: START, to: plan}
  - {from: plan, to: write}
  - {from: write, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""


def _load() -> Workflow:
    return cagents.load(textwrap.dedent(CHAIN))


def _script(server: ScriptedLLMServer) -> None:
    server.reply(json={"outline": "O"})
    server.reply(json={"draft": "D", "words": 120})


def test_step_reports_nodes_and_changed_fields(llm_env: ScriptedLLMServer) -> None:
    _script(llm_env)
    handle = _load().start({"topic": "bees"})
    assert handle.status == "pending" and handle.next_nodes == ["plan"]
    assert llm_env.requests == []

    first = handle.step()
    assert isinstance(first, StepResult)
    assert first.nodes == ["plan"] and first.step == 1
    assert first.changes == {"outline": (None, "O")}
    assert first.status == "running" and first.next_nodes == ["write"]
    assert handle.state["outline"] == "O" and handle.state["draft"] is None
    assert len(llm_env.requests) == 1

    second = handle.step()
    assert second.nodes == ["write"]
    assert second.changes == {"draft": (None, "D"), "words": (0, 120)}
    assert second.status == "completed" and second.next_nodes == []
    assert handle.done

    # stepping a finished run does nothing
    again = handle.step()
    assert again.nodes == [] and again.status == "completed"
    assert len(llm_env.requests) == 2
    assert handle.result().outputs == {"topic": "bees", "outline": "O", "draft": "D", "words": 120}


async def test_astep_then_arun_finishes_the_rest(llm_env: ScriptedLLMServer) -> None:
    _script(llm_env)
    handle = _load().start({"topic": "bees"})
    step = await handle.astep()
    assert step.nodes == ["plan"]
    result = await handle.arun()
    assert result.status == "completed" and result.outputs["draft"] == "D"
    assert len(llm_env.requests) == 2


def test_sync_api_inside_a_running_event_loop(llm_env: ScriptedLLMServer) -> None:
    """A notebook cell runs under a live loop; the plain API must still work there."""
    _script(llm_env)
    _script(llm_env)
    wf = _load()

    async def cell() -> tuple[StepResult, StepResult, Any]:
        handle = wf.start({"topic": "bees"})
        first = handle.step()
        second = handle.step()
        whole = wf.run({"topic": "wasps"})
        return first, second, whole

    first, second, whole = asyncio.run(asyncio.wait_for(cell(), timeout=20))
    assert first.nodes == ["plan"] and second.status == "completed"
    assert whole.status == "completed" and whole.outputs["topic"] == "wasps"
    assert len(llm_env.requests) == 4


async def test_sync_step_from_an_async_test(llm_env: ScriptedLLMServer) -> None:
    """Same as a notebook: the sync call blocks this loop but runs on the background loop."""
    _script(llm_env)
    handle = _load().start({"topic": "bees"})
    assert handle.step().nodes == ["plan"]
    assert handle.step().status == "completed"


async def test_mixing_sync_and_async_steps(llm_env: ScriptedLLMServer) -> None:
    """A notebook may step with the plain API, then await the rest in the same run."""
    _script(llm_env)
    handle = _load().start({"topic": "bees"})
    assert handle.step().nodes == ["plan"]
    result = await handle.arun()
    assert result.status == "completed", result.error
    assert result.outputs["draft"] == "D" and len(llm_env.requests) == 2
