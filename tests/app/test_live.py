"""`cagents.app.live`: runs a host drives with replayable events, and runs followed in the database."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from app.dbview import APPROVAL, CHAIN4, echo
from cagents.app import Workbench, arun_workflow
from cagents.app.live import LiveRuns, RecordedRun
from cagents.app.workflows import compile_text as compile_workflow
from cagents.errors import ConfigError, InputError, NotFoundError
from support.llm_server import Reply, ScriptedLLMServer


def gated(gate: threading.Event) -> Any:
    """Echo answers, node n2 held until the gate opens (the server answers in its own thread)."""
    answer = echo()

    def respond(body: dict[str, Any]) -> Reply:
        if body["messages"][-1]["content"].startswith("n2 "):
            gate.wait(100)
        return answer(body)

    return respond


async def test_a_run_replays_its_events_to_late_followers(workbench: Workbench) -> None:
    runs = LiveRuns(workbench)
    run = runs.start(compile_workflow(CHAIN4, "chain4.yaml"), {"seed": "s"})
    await run.accepted()
    assert (await asyncio.to_thread(workbench.db.executions.get, run.execution_id)).status == "running"
    result = await run.wait()
    assert result is not None and result.status == "completed"
    assert runs.get(run.execution_id) is run

    events = [event async for event in run.follow()]
    assert events == run.events
    assert [e["type"] for e in events][:2] == ["execution_accepted", "execution_started"]
    assert events[-1]["type"] == "execution_finished" and events[-1]["status"] == "completed"
    assert [event async for event in run.follow(start=3)] == events[3:]
    assert await run.events_after(len(events), 60) == []  # over: no waiting


async def test_bad_inputs_raise_before_any_task(workbench: Workbench) -> None:
    runs = LiveRuns(workbench)
    with pytest.raises(InputError) as caught:
        runs.start(compile_workflow(CHAIN4, "chain4.yaml"), {})
    assert "seed" in caught.value.problems


async def test_events_after_waits_for_the_next_event(workbench: Workbench, llm_server: ScriptedLLMServer) -> None:
    gate = threading.Event()
    llm_server.responder = gated(gate)
    runs = LiveRuns(workbench)
    env = {"CAGENTS_LLM_BASE_URL": llm_server.url, "CAGENTS_LLM_API_KEY": "k"}
    run = runs.start(compile_workflow(CHAIN4, "chain4.yaml"), {"seed": "s"}, env=env)
    try:
        while not any(e["type"] == "node_started" and e["node_id"] == "n2" for e in run.events):
            await run.events_after(len(run.events), 60)
        seen = len(run.events)
        assert await run.events_after(seen, 0.01) == []  # n2 is held: nothing new comes
        assert not run.done
    finally:
        gate.set()
    following = await run.events_after(seen, 60)
    assert following and following[0]["type"] == "node_finished" and following[0]["node_id"] == "n2"
    assert (await run.wait()).status == "completed"  # type: ignore[union-attr]


async def test_a_waiting_run_is_resumed_live(workbench: Workbench) -> None:
    runs = LiveRuns(workbench)
    paused = runs.start(compile_workflow(APPROVAL, "approval.yaml"), {"news": "n"})
    assert (await paused.wait()).status == "waiting"  # type: ignore[union-attr]
    assert [e["type"] for e in paused.events][-2:] == ["execution_waiting", "execution_finished"]

    resumed = await runs.resume(paused.execution_id, {"approved": False, "notes": "no"})
    assert runs.get(paused.execution_id) is resumed
    result = await resumed.wait()
    assert result is not None and result.status == "completed"
    assert any(e["type"] == "node_finished" and e["node_id"] == "reject" for e in resumed.events)


async def test_a_recorded_run_gives_checkpoints_then_a_snapshot_once(workbench: Workbench, home: Path) -> None:
    with Workbench.open(home) as other:  # another process's view of the same database
        result = await arun_workflow(other, CHAIN4, {"seed": "s"})
    recorded = RecordedRun(workbench, result.execution_id)
    first = await asyncio.to_thread(recorded.poll)
    assert [e["type"] for e in first] == ["state"] * 4 + ["execution"]
    assert [e["node_id"] for e in first[:4]] == ["n1", "n2", "n3", "n4"]
    assert all(set(e) == {"type", "execution_id", "id", "node_id", "step", "created_at", "duration_seconds",
                          "tokens", "cost_usd"} for e in first[:4])
    snapshot = first[-1]
    assert snapshot["status"] == "completed" and snapshot["nodes_finished"] == 4
    assert snapshot["last_node"] == "n4" and snapshot["total_tokens"] == result.total_tokens
    assert recorded.ended
    assert await asyncio.to_thread(recorded.poll) == []  # nothing moved

    later = RecordedRun(workbench, result.execution_id, after_state=first[1]["id"])
    assert [e.get("node_id") for e in await asyncio.to_thread(later.poll)] == ["n3", "n4", None]

    with pytest.raises(NotFoundError):
        RecordedRun(workbench, "nope").poll()


def test_workflow_text_is_never_read_as_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "flow.yaml").write_text(CHAIN4)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError):
        compile_workflow("flow.yaml", "<request>")
    assert compile_workflow(CHAIN4, "<request>").name == "chain4"
