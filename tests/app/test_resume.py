"""Resume and re-run through the app: from the database, by any workbench on the same file."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from app.dbview import APPROVAL, CHAIN4, echo, execution_row, node_of, prompt_of, state_rows
from support.llm_server import Reply, ScriptedLLMServer

from cagents.app import (
    Workbench,
    aresume_execution,
    rerun_execution,
    resume_execution,
    run_workflow,
    start_workflow,
)
from cagents.engine import RunInfo
from cagents.errors import ConflictError, ExecutionError, InputError, NotFoundError


def test_waiting_run_resumes_to_completion_from_another_workbench(
    workbench: Workbench, home: Path, db_file: Path, llm_env: ScriptedLLMServer
) -> None:
    llm_env.reply(json={"post": "We ship SSO"})
    llm_env.reply(json={"outcome": "published"})
    paused = run_workflow(workbench, APPROVAL, {"news": "SSO"})
    assert paused.status == "waiting"

    with Workbench.open(home=home) as other:  # another process would see only the database
        done = resume_execution(other, paused.execution_id, {"approved": "true", "notes": "ship it"})
    assert done.status == "completed", done.error
    assert done.execution_id == paused.execution_id
    assert done.outputs["approved"] is True and done.outputs["outcome"] == "published"
    assert [node_of(r) for r in llm_env.requests] == ["draft", "publish"]

    row = execution_row(db_file, paused.execution_id)
    assert row["status"] == "completed" and row["waiting_for"] is None
    assert json.loads(row["outputs"])["outcome"] == "published"
    assert row["total_tokens"] == 30
    states = state_rows(db_file, paused.execution_id)
    assert [(s["node_id"], s["step"]) for s in states] == [("draft", 1), ("review", 2), ("review", 3),
                                                            ("publish", 4)]
    assert json.loads(states[2]["state_data"])["notes"] == "ship it"


async def test_waiting_run_needs_values_and_bad_ones_leave_it_waiting(
    workbench: Workbench, db_file: Path, llm_env: ScriptedLLMServer
) -> None:
    llm_env.reply(json={"post": "P"})
    llm_env.reply(json={"outcome": "rejected"})
    paused = run_workflow(workbench, APPROVAL, {"news": "n"})
    with pytest.raises(ExecutionError) as caught:
        await aresume_execution(workbench, paused.execution_id)
    message = str(caught.value)
    assert "waits for input at node `review`" in message and "approved, notes" in message
    with pytest.raises(InputError) as bad:
        await aresume_execution(workbench, paused.execution_id, {"approved": "perhaps", "notes": ""})
    assert set(bad.value.problems) == {"approved"}
    assert execution_row(db_file, paused.execution_id)["status"] == "waiting"
    assert len(state_rows(db_file, paused.execution_id)) == 2

    done = await aresume_execution(workbench, paused.execution_id, {"approved": False, "notes": "too long"})
    assert done.status == "completed", done.error
    assert prompt_of(llm_env.requests[-1]) == "reject too long"


def test_a_waiting_handle_answered_in_process_is_recorded_running_then_completed(
    workbench: Workbench, db_file: Path, llm_env: ScriptedLLMServer
) -> None:
    llm_env.reply(json={"post": "P"})
    llm_env.reply(json={"outcome": "published"})
    handle = start_workflow(workbench, APPROVAL, {"news": "n"})
    assert handle.run().status == "waiting"
    assert execution_row(db_file, handle.execution_id)["status"] == "waiting"
    assert handle.resume({"approved": True, "notes": ""}).status == "completed"
    row = execution_row(db_file, handle.execution_id)
    assert row["status"] == "completed" and row["owner"] == workbench.owner_id


def test_finished_executions_cannot_be_resumed_and_the_error_says_rerun(
    workbench: Workbench, llm_env: ScriptedLLMServer
) -> None:
    llm_env.responder = echo()
    result = run_workflow(workbench, CHAIN4, {"seed": "s"})
    with pytest.raises(ExecutionError) as caught:
        resume_execution(workbench, result.execution_id)
    message = str(caught.value)
    assert "is completed and cannot be resumed" in message
    assert f"cagents executions rerun {result.execution_id}" in message
    with pytest.raises(NotFoundError, match="no execution with id 'nope'"):
        resume_execution(workbench, "nope")


async def test_an_interrupted_execution_without_checkpoints_runs_from_the_start(
    workbench: Workbench, db_file: Path, llm_env: ScriptedLLMServer
) -> None:
    """Accepted, then the process died before the first node finished."""
    llm_env.responder = echo()
    await workbench.recorder.accepted(RunInfo(
        execution_id="early-crash", workflow_name="chain4", config_text=CHAIN4, config_hash="h",
        inputs={"seed": "s"}, started_at=time.time(),
    ))
    workbench.db.executions.mark_interrupted(["early-crash"], "the process stopped")
    result = await aresume_execution(workbench, "early-crash")
    assert result.status == "completed", result.error
    assert result.outputs["d"] == "s+n1+n2+n3+n4"
    assert [node_of(r) for r in llm_env.requests] == ["n1", "n2", "n3", "n4"]
    row = execution_row(db_file, "early-crash")
    assert row["status"] == "completed" and row["error_message"] is None
    assert [s["node_id"] for s in state_rows(db_file, "early-crash")] == ["n1", "n2", "n3", "n4"]


def test_an_interrupted_execution_resumes_after_its_last_checkpoint(
    workbench: Workbench, db_file: Path, llm_env: ScriptedLLMServer
) -> None:
    llm_env.responder = echo()
    handle = start_workflow(workbench, CHAIN4, {"seed": "s"})
    handle.step()
    handle.step()  # n1 and n2 ran; then the process "stops" (the crash test kills a real one)
    execution_id = handle.execution_id
    workbench.db.executions.mark_interrupted([execution_id], "the process stopped")
    assert execution_row(db_file, execution_id)["status"] == "interrupted"
    llm_env.requests.clear()
    result = resume_execution(workbench, execution_id)
    assert result.status == "completed", result.error
    assert [node_of(r) for r in llm_env.requests] == ["n3", "n4"]
    assert result.total_tokens == 40
    row = execution_row(db_file, execution_id)
    assert row["status"] == "completed" and row["total_tokens"] == 40 and row["error_message"] is None
    assert [s["tokens"] for s in state_rows(db_file, execution_id)] == [10, 10, 10, 10]


def test_rerun_starts_anew_from_the_snapshot_and_links_to_the_original(
    workbench: Workbench, db_file: Path, llm_env: ScriptedLLMServer
) -> None:
    answer = echo()
    broken = {"on": True}

    def respond(body: dict[str, Any]) -> Reply:
        if broken["on"] and node_of(body) == "n2":
            return Reply(status=400, error="down")
        return answer(body)

    llm_env.responder = respond
    first = run_workflow(workbench, CHAIN4, {"seed": "s"})
    assert first.status == "failed"
    broken["on"] = False
    llm_env.requests.clear()
    again = rerun_execution(workbench, first.execution_id)
    assert again.status == "completed", again.error
    assert again.execution_id != first.execution_id
    assert [node_of(r) for r in llm_env.requests] == ["n1", "n2", "n3", "n4"]
    row = execution_row(db_file, again.execution_id)
    assert row["retry_of"] == first.execution_id
    assert row["config_snapshot"] == CHAIN4 and json.loads(row["inputs"]) == {"seed": "s"}
    assert execution_row(db_file, first.execution_id)["status"] == "failed"  # the original is kept


def _resumed_elsewhere_meanwhile(monkeypatch: pytest.MonkeyPatch, workbench: Workbench, home: Path,
                                 values: dict[str, Any] | None) -> list[Any]:
    """Make `workbench`'s next resume lose the race: right after it read the last checkpoint,
    another workbench on the same database resumes the same execution to its end."""
    read = workbench.db.executions.last_state
    others: list[Any] = []

    def last_state(execution_id: str) -> Any:
        stale = read(execution_id)
        with Workbench.open(home=home) as other:
            others.append(resume_execution(other, execution_id, values))
        return stale

    monkeypatch.setattr(workbench.db.executions, "last_state", last_state)
    return others


async def test_of_two_workbenches_answering_one_waiting_run_exactly_one_wins(
    workbench: Workbench, home: Path, db_file: Path, llm_env: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_env.reply(json={"post": "P"})
    llm_env.reply(json={"outcome": "published"})
    paused = run_workflow(workbench, APPROVAL, {"news": "n"})
    others = _resumed_elsewhere_meanwhile(monkeypatch, workbench, home, {"approved": True, "notes": "first"})

    with pytest.raises(ConflictError) as lost:
        await aresume_execution(workbench, paused.execution_id, {"approved": False, "notes": "second"})
    assert f"execution {paused.execution_id} is completed now, so it was not resumed here" in str(lost.value)
    assert others[0].status == "completed" and others[0].outputs["notes"] == "first"
    assert workbench.live_run(paused.execution_id) is None
    row = execution_row(db_file, paused.execution_id)
    assert row["status"] == "completed" and json.loads(row["outputs"])["notes"] == "first"
    assert [(s["node_id"], s["step"]) for s in state_rows(db_file, paused.execution_id)] == [
        ("draft", 1), ("review", 2), ("review", 3), ("publish", 4)]
    assert [node_of(r) for r in llm_env.requests] == ["draft", "publish"]
    assert workbench.db.executions.summary().to_dict()["completed"] == 1


def test_of_two_workbenches_resuming_one_interrupted_run_exactly_one_wins(
    workbench: Workbench, home: Path, db_file: Path, llm_env: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_env.responder = echo()
    handle = start_workflow(workbench, CHAIN4, {"seed": "s"})
    handle.step()
    execution_id = handle.execution_id
    workbench.db.executions.mark_interrupted([execution_id], "the process stopped")
    llm_env.requests.clear()
    others = _resumed_elsewhere_meanwhile(monkeypatch, workbench, home, None)

    with pytest.raises(ConflictError, match=f"execution {execution_id} is completed now"):
        resume_execution(workbench, execution_id)
    assert others[0].status == "completed", others[0].error
    assert [node_of(r) for r in llm_env.requests] == ["n2", "n3", "n4"]  # each node ran once
    row = execution_row(db_file, execution_id)
    assert row["status"] == "completed" and row["error_message"] is None
    assert [s["node_id"] for s in state_rows(db_file, execution_id)] == ["n1", "n2", "n3", "n4"]
    summary = workbench.db.executions.summary().to_dict()
    assert (summary["total"], summary["completed"], summary["running"]) == (1, 1, 0)
