"""Human-in-the-loop nodes: the run pauses with status `waiting`, says what it needs, and
resumes with the person's answer (in the same process or from a checkpoint)."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

import cagents
from cagents.engine import MemoryRecorder, Workflow
from cagents.errors import ExecutionError, InputError
from support.llm_server import ScriptedLLMServer

APPROVAL = """
schema_version: "1.0"
flow: {name: approval}
state:
  fields:
    news: {type: str, required: true}
    post: {type: str}
    approved: {type: bool, default: false, description: Publish the post?}
    notes: {type: str, default: ""}
    outcome: {type: str}
nodes:
  - {id: draft, prompt: "Draft a post about {news}", outputs: [post]}
  - id: review
    kind: human
    prompt: "Approve this post? {post}"
    outputs: [approved, notes]
  - {id: publish, prompt: "Publish {post}", outputs: [outcome]}
  - {id: reject, prompt: "Record rejection: {notes}", outputs: [outcome]}
edges:
  - {from: START, to: draft}
  - {from: draft, to: review}
  - from: review
    routes:
      - {when: approved, to: publish}
      - {condition: {logic: default}, to: reject}
  - {from: publish, to: END}
  - {from: reject, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""


def _load() -> Workflow:
    return cagents.load(textwrap.dedent(APPROVAL))


async def test_human_node_pauses_then_resumes_to_completion(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"post": "We ship SSO"})
    llm_env.reply(json={"outcome": "published"})
    recorder = MemoryRecorder()
    events: list[Any] = []
    handle = _load().start({"news": "SSO"}, recorder=recorder, subscribers=[events.append])
    paused = await handle.arun()
    assert paused.status == "waiting" and handle.status == "waiting" and not handle.done
    assert paused.waiting_for is not None
    assert paused.waiting_for["node_id"] == "review"
    assert paused.waiting_for["prompt"] == "Approve this post? We ship SSO"
    fields = paused.waiting_for["fields"]
    assert set(fields) == {"approved", "notes"}
    assert fields["approved"]["type"] == "boolean"
    assert fields["approved"]["description"] == "Publish the post?"
    assert len(llm_env.requests) == 1
    assert recorder.summaries[handle.execution_id].status == "waiting"
    waiting = [e for e in events if e.type == "execution_waiting"]
    assert len(waiting) == 1 and waiting[0].node_id == "review"

    done = await handle.aresume({"approved": True, "notes": "ship it"})
    assert done.status == "completed", done.error
    assert done.outputs["approved"] is True and done.outputs["notes"] == "ship it"
    assert done.outputs["outcome"] == "published"
    assert llm_env.requests[-1]["messages"][-1]["content"] == "Publish We ship SSO"
    assert recorder.summaries[handle.execution_id].status == "completed"
    assert done.waiting_for is None


def test_human_resume_with_the_sync_api(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"post": "P"})
    llm_env.reply(json={"outcome": "rejected"})
    handle = _load().start({"news": "n"})
    assert handle.run().status == "waiting"
    assert handle.waiting_for is not None and handle.waiting_for["node_id"] == "review"
    result = handle.resume({"approved": False, "notes": "too long"})
    assert result.status == "completed", result.error
    assert result.outputs["outcome"] == "rejected"
    assert llm_env.requests[-1]["messages"][-1]["content"] == "Record rejection: too long"


async def test_bad_human_input_names_the_field(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"post": "P"})
    llm_env.reply(json={"outcome": "published"})
    handle = _load().start({"news": "n"})
    await handle.arun()
    with pytest.raises(InputError) as caught:
        await handle.aresume({"approved": "perhaps", "notes": "x"})
    assert set(caught.value.problems) == {"approved"}
    assert "approved" in str(caught.value)
    with pytest.raises(InputError) as caught:
        await handle.aresume({"approved": True, "note": "typo"})
    assert set(caught.value.problems) == {"notes", "note"}
    # still waiting; a good answer goes through
    assert handle.status == "waiting"
    result = await handle.aresume({"approved": "true", "notes": ""})
    assert result.status == "completed", result.error
    assert result.outputs["approved"] is True


async def test_resume_when_not_waiting_is_an_error(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"post": "P"})
    handle = _load().start({"news": "n"})
    await handle.astep()
    with pytest.raises(ExecutionError, match="not waiting"):
        await handle.aresume({"approved": True, "notes": ""})


async def test_waiting_run_resumes_from_its_checkpoint(llm_env: ScriptedLLMServer) -> None:
    """A host that kept only the recorder (another process) can answer the person's input."""
    llm_env.reply(json={"post": "P"})
    llm_env.reply(json={"outcome": "published"})
    recorder = MemoryRecorder()
    first = _load().start({"news": "n"}, recorder=recorder)
    assert (await first.arun()).status == "waiting"
    checkpoint = recorder.last_checkpoint(first.execution_id)
    assert checkpoint is not None and checkpoint.waiting == ["review"]

    again = _load().resume_from(checkpoint, recorder=recorder)
    assert again.status == "waiting"
    assert again.waiting_for is not None and again.waiting_for["node_id"] == "review"
    result = await again.aresume({"approved": True, "notes": ""})
    assert result.status == "completed", result.error
    assert result.outputs["outcome"] == "published"
    assert len(llm_env.requests) == 2
    assert recorder.summaries[first.execution_id].status == "completed"


FANOUT_HUMAN = """
schema_version: "1.0"
flow: {name: fan_human}
state:
  fields:
    topic: {type: str, required: true}
    plan: {type: str}
    ok: {type: bool}
    facts: {type: str}
    summary: {type: str}
nodes:
  - {id: plan, prompt: "plan {topic}", outputs: [plan]}
  - {id: confirm, kind: human, prompt: "Is {plan} fine?", outputs: [ok]}
  - {id: research, prompt: "research {plan}", outputs: [facts]}
  - {id: sum_up, prompt: "sum up {facts} ok={ok}", outputs: [summary]}
edges:
  - {from: START, to: plan}
  - {from: plan, to: [confirm, research]}
  - {from: confirm, to: sum_up}
  - {from: research, to: sum_up}
  - {from: sum_up, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""


async def test_join_after_a_human_branch_waits_for_the_answer(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"plan": "P"})
    llm_env.reply(json={"facts": "F"})
    llm_env.reply(json={"summary": "S"})
    handle = cagents.load(textwrap.dedent(FANOUT_HUMAN)).start({"topic": "t"})
    paused = await handle.arun()
    assert paused.status == "waiting", paused.error
    assert paused.waiting_for is not None and paused.waiting_for["prompt"] == "Is P fine?"
    # the other branch ran; the join did not
    assert [r["messages"][-1]["content"] for r in llm_env.requests] == ["plan t", "research P"]
    assert paused.outputs["facts"] == "F" and paused.outputs["summary"] is None
    done = await handle.aresume({"ok": True})
    assert done.status == "completed", done.error
    assert llm_env.requests[-1]["messages"][-1]["content"] == "sum up F ok=true"
    assert len(llm_env.requests) == 3


async def test_step_into_a_human_node_and_cancel_the_wait(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"post": "P"})
    recorder = MemoryRecorder()
    events: list[Any] = []
    handle = _load().start({"news": "n"}, recorder=recorder, subscribers=[events.append])
    assert (await handle.astep()).nodes == ["draft"]
    step = await handle.astep()
    assert step.nodes == ["review"] and step.status == "waiting" and step.changes == {}
    assert step.next_nodes == ["review"]
    # stepping a waiting run does not run anything
    assert (await handle.astep()).nodes == []
    handle.cancel()
    result = await handle.arun()
    assert result.status == "cancelled" and result.waiting_for is None
    assert recorder.summaries[handle.execution_id].status == "cancelled"
    assert [e.status for e in events if e.type == "execution_finished"] == ["waiting", "cancelled"]
    assert len(llm_env.requests) == 1
