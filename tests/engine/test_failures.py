"""Retries, timeouts and cancellation, against the scripted server: what fails names the
node, and what ran before stays recorded."""

from __future__ import annotations

import asyncio
import textwrap
import threading
from typing import Any

import pytest

import cagents
from cagents.engine import MemoryRecorder, Run, RunHandle, Workflow
from support.llm_server import ScriptedLLMServer

CHAIN = """
schema_version: "1.0"
flow: {name: failing}
state:
  fields:
    topic: {type: str, required: true}
    first: {type: str}
    second: {type: str}
nodes:
  - {id: one, prompt: "one {topic}", outputs: [first]}
  - {id: two, prompt: "two {first}", outputs: [second]NODE2}
edges:
  - {from: START, to: one}
  - {from: one, to: two}
  - {from: two, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0EXECUTION}
"""


def _load(node2: str = "", execution: str = "") -> Workflow:
    text = textwrap.dedent(CHAIN).replace("NODE2", node2).replace("EXECUTION", execution)
    return cagents.load(text)


def _handle(wf: Workflow, **kwargs: Any) -> RunHandle:
    return RunHandle(Run(wf.spec, {"topic": "t"}, retry_backoff=0.01, **kwargs))


async def _wait_for_requests(server: ScriptedLLMServer, count: int) -> None:
    for _ in range(500):
        if len(server.requests) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the server never saw {count} request(s)")


async def test_node_retries_transient_errors(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"first": "F"})
    llm_env.reply(status=500, error="overloaded")
    llm_env.reply(json={"second": "S"})
    events: list[Any] = []
    result = await _handle(_load(", retries: 2"), subscribers=[events.append]).arun()
    assert result.status == "completed", result.error
    assert result.outputs["second"] == "S"
    assert len(llm_env.requests) == 3
    retrying = [e for e in events if e.type == "node_retrying"]
    assert len(retrying) == 1
    assert retrying[0].node_id == "two" and retrying[0].attempt == 1
    assert "500" in retrying[0].error and retrying[0].delay_s == pytest.approx(0.01)
    assert [e.node_id for e in events if e.type == "node_started"] == ["one", "two", "two"]


async def test_retries_exhausted_fail_the_node(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"first": "F"})
    for _ in range(3):
        llm_env.reply(status=503, error="still overloaded")
    events: list[Any] = []
    recorder = MemoryRecorder()
    result = await _handle(_load(", retries: 2"), subscribers=[events.append], recorder=recorder).arun()
    assert result.status == "failed"
    assert "node 'two'" in (result.error or "") and "still overloaded" in (result.error or "")
    assert len(llm_env.requests) == 4
    assert [e.attempt for e in events if e.type == "node_retrying"] == [1, 2]
    assert [e.node_id for e in events if e.type == "node_failed"] == ["two"]
    assert [c.node_id for c in recorder.checkpoints[result.execution_id]] == ["one"]


async def test_client_errors_are_not_retried(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"first": "F"})
    llm_env.reply(status=400, error="bad request body")
    llm_env.reply(json={"second": "never used"})
    events: list[Any] = []
    result = await _handle(_load(", retries: 2"), subscribers=[events.append]).arun()
    assert result.status == "failed" and "bad request body" in (result.error or "")
    assert len(llm_env.requests) == 2
    assert not [e for e in events if e.type == "node_retrying"]


async def test_node_timeout_names_the_node_and_the_limit(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"first": "F"})
    llm_env.reply(json={"second": "late"}, delay=2.0)
    recorder = MemoryRecorder()
    result = await _load(", timeout: 0.3").arun({"topic": "t"}, recorder=recorder)
    assert result.status == "failed"
    assert result.error is not None
    assert "node 'two'" in result.error and "0.3" in result.error and "timed out" in result.error
    assert result.outputs["first"] == "F" and result.outputs["second"] is None
    assert [c.node_id for c in recorder.checkpoints[result.execution_id]] == ["one"]


async def test_node_timeout_holds_with_client_retries_enabled(llm_env: ScriptedLLMServer) -> None:
    """The client's own retries of a slow answer do not stretch the node's time limit."""
    llm_env.reply(json={"first": "F"})
    for _ in range(4):
        llm_env.reply(json={"second": "late"}, delay=2.0)
    wf = cagents.load(textwrap.dedent(CHAIN).replace("NODE2", ", timeout: 0.3").replace(
        "max_retries: 0EXECUTION", "max_retries: 3"))
    result = await wf.arun({"topic": "t"})
    assert result.status == "failed"
    assert "node 'two'" in (result.error or "") and "timed out" in (result.error or "")
    assert len(llm_env.requests) == 2


async def test_execution_timeout(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"first": "F"}, delay=0.2)
    llm_env.reply(json={"second": "S"}, delay=2.0)
    events: list[Any] = []
    recorder = MemoryRecorder()
    result = await _load(execution=", timeout: 0.5").arun(
        {"topic": "t"}, recorder=recorder, subscribers=[events.append])
    assert result.status == "failed"
    assert "execution timed out" in (result.error or "") and "0.5" in (result.error or "")
    assert result.outputs["first"] == "F"
    assert [c.node_id for c in recorder.checkpoints[result.execution_id]] == ["one"]
    assert recorder.summaries[result.execution_id].status == "failed"
    assert events[-1].type == "execution_finished" and events[-1].status == "failed"


async def test_cancel_while_a_slow_node_runs(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"first": "F"})
    llm_env.reply(json={"second": "S"}, delay=5.0)
    events: list[Any] = []
    recorder = MemoryRecorder()
    handle = _load().start({"topic": "t"}, recorder=recorder, subscribers=[events.append])
    task = asyncio.create_task(handle.arun())
    await _wait_for_requests(llm_env, 2)
    handle.cancel()
    result = await asyncio.wait_for(task, timeout=3)
    assert result.status == "cancelled" and handle.status == "cancelled"
    assert result.outputs["first"] == "F" and result.outputs["second"] is None
    assert [c.node_id for c in recorder.checkpoints[handle.execution_id]] == ["one"]
    assert recorder.summaries[handle.execution_id].status == "cancelled"
    finished = [e for e in events if e.type == "execution_finished"]
    assert len(finished) == 1 and finished[0].status == "cancelled"
    assert events[-1] is finished[0]


async def test_cancelling_the_task_records_the_cancellation(llm_env: ScriptedLLMServer) -> None:
    """Cancelling the task that runs the workflow (Ctrl-C in a notebook) still records it."""
    llm_env.reply(json={"first": "F"})
    llm_env.reply(json={"second": "S"}, delay=5.0)
    events: list[Any] = []
    recorder = MemoryRecorder()
    handle = _load().start({"topic": "t"}, recorder=recorder, subscribers=[events.append])
    task = asyncio.create_task(handle.arun())
    await _wait_for_requests(llm_env, 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=3)
    assert handle.status == "cancelled"
    assert recorder.summaries[handle.execution_id].status == "cancelled"
    assert [e.status for e in events if e.type == "execution_finished"] == ["cancelled"]


def test_cancel_from_another_thread(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"first": "F"})
    llm_env.reply(json={"second": "S"}, delay=5.0)
    handle = _load().start({"topic": "t"})
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(handle.run()))
    worker.start()
    asyncio.run(_wait_for_requests(llm_env, 2))
    handle.cancel()
    worker.join(5)
    assert not worker.is_alive()
    assert results[0].status == "cancelled" and results[0].outputs["first"] == "F"


async def test_cancel_before_start(llm_env: ScriptedLLMServer) -> None:
    handle = _load().start({"topic": "t"})
    handle.cancel()
    result = await handle.arun()
    assert result.status == "cancelled"
    assert llm_env.requests == []


FANOUT = """
schema_version: "1.0"
flow: {name: fan}
state:
  fields:
    topic: {type: str, required: true}
    left: {type: str}
    right: {type: str}
    both: {type: str}
    begun: {type: int}
nodes:
  - {id: begin, kind: tool, tool: calculator, args: {expression: "1"}, outputs: [begun]}
  - {id: l, prompt: "l {topic}", outputs: [left]}
  - {id: r, prompt: "r {topic}", outputs: [right]}
  - {id: join, prompt: "join {left} {right}", outputs: [both]}
edges:
  - {from: START, to: begin}
  - {from: begin, to: [l, r]}
  - {from: l, to: join}
  - {from: r, to: join}
  - {from: join, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0EXECUTION}
"""


def _fanout(execution: str = "") -> Workflow:
    return cagents.load(textwrap.dedent(FANOUT).replace("EXECUTION", execution))


async def test_cancel_during_a_fanout_keeps_the_finished_branch(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"left": "L"})
    llm_env.reply(json={"right": "R"}, delay=5.0)
    recorder = MemoryRecorder()
    events: list[Any] = []
    handle = _fanout().start({"topic": "t"}, recorder=recorder, subscribers=[events.append])
    task = asyncio.create_task(handle.arun())
    await _wait_for_requests(llm_env, 2)
    for _ in range(300):
        if len(recorder.checkpoints.get(handle.execution_id, [])) == 2:
            break
        await asyncio.sleep(0.01)
    handle.cancel()
    result = await asyncio.wait_for(task, timeout=3)
    assert result.status == "cancelled"
    assert result.outputs["left"] == "L" and result.outputs["right"] is None
    assert [c.node_id for c in recorder.checkpoints[handle.execution_id]] == ["begin", "l"]
    assert [e.status for e in events if e.type == "execution_finished"] == ["cancelled"]
    assert len(llm_env.requests) == 2


async def test_execution_timeout_during_a_fanout(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"left": "L"}, delay=2.0)
    llm_env.reply(json={"right": "R"}, delay=2.0)
    result = await _fanout(", timeout: 0.3").arun({"topic": "t"})
    assert result.status == "failed"
    assert "execution timed out" in (result.error or "")
    assert result.outputs["left"] is None and result.outputs["right"] is None


async def test_a_timed_out_attempt_is_retried(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"first": "F"})
    llm_env.reply(json={"second": "late"}, delay=2.0)
    llm_env.reply(json={"second": "on time"})
    events: list[Any] = []
    result = await _handle(_load(", timeout: 0.3, retries: 1"), subscribers=[events.append]).arun()
    assert result.status == "completed", result.error
    assert result.outputs["second"] == "on time"
    [retry] = [e for e in events if e.type == "node_retrying"]
    assert retry.node_id == "two" and "timed out" in retry.error


async def test_execution_timeout_after_a_sync_step(llm_env: ScriptedLLMServer) -> None:
    """Stepping with the plain API first (background loop) then awaiting still times out."""
    llm_env.reply(json={"first": "F"})
    llm_env.reply(json={"second": "S"}, delay=3.0)
    handle = _load(execution=", timeout: 0.5").start({"topic": "t"})
    assert handle.step().nodes == ["one"]
    result = await asyncio.wait_for(handle.arun(), timeout=2.5)
    assert result.status == "failed"
    assert "execution timed out" in (result.error or "")
