"""Cancel: a run of this process at once, a run of another one through the database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.dbview import APPROVAL, CHAIN4, echo, execution_row, node_of, rows, state_rows
from cagents.app import Workbench, acancel_execution, arun_workflow, cancel_execution, run_workflow
from cagents.errors import ExecutionError, NotFoundError
from support.llm_server import ScriptedLLMServer


async def _until(check, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3000):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


async def test_cancel_from_another_workbench_stops_a_slow_run_through_the_heartbeat(
    home: Path, db_file: Path, llm_env: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_env.responder = echo(delays={"n2": 60.0})  # n2 would take a minute
    monkeypatch.setenv("CAGENTS_HEARTBEAT_SECONDS", "0.1")
    owner = Workbench.open(home=home)
    # The canceller's own heartbeat setting is slow, so it never takes the busy owner for dead.
    monkeypatch.setenv("CAGENTS_HEARTBEAT_SECONDS", "30")
    other = Workbench.open(home=home)
    try:
        task = asyncio.ensure_future(arun_workflow(owner, CHAIN4, {"seed": "s"}))
        await _until(lambda: any(node_of(r) == "n2" for r in list(llm_env.requests)), "n2's request")
        execution_id = rows(db_file, "SELECT id FROM executions")[0]["id"]
        assert other.live_run(execution_id) is None and owner.live_run(execution_id) is not None

        record = await acancel_execution(other, execution_id)
        assert record.cancel_requested and record.status == "running"  # the owner stops it
        result = await task
        assert result.status == "cancelled"
        row = execution_row(db_file, execution_id)
        assert row["status"] == "cancelled" and row["error_message"] == "cancelled by request"
        assert [s["node_id"] for s in state_rows(db_file, execution_id)] == ["n1"]  # what ran is kept
        assert owner.live_run(execution_id) is None
    finally:
        other.close()
        owner.close()


async def test_cancel_a_run_of_this_process_at_once(
    workbench: Workbench, db_file: Path, llm_env: ScriptedLLMServer
) -> None:
    llm_env.responder = echo(delays={"n1": 60.0})
    task = asyncio.ensure_future(arun_workflow(workbench, CHAIN4, {"seed": "s"}))
    await _until(lambda: llm_env.requests, "n1's request")
    execution_id = rows(db_file, "SELECT id FROM executions")[0]["id"]
    record = await acancel_execution(workbench, execution_id)
    assert record.status == "cancelled"
    assert (await task).status == "cancelled"
    assert state_rows(db_file, execution_id) == []


def test_cancel_a_waiting_execution_and_then_it_is_finished(
    workbench: Workbench, db_file: Path, llm_env: ScriptedLLMServer
) -> None:
    llm_env.reply(json={"post": "P"})
    paused = run_workflow(workbench, APPROVAL, {"news": "n"})
    record = cancel_execution(workbench, paused.execution_id)
    assert record.status == "cancelled" and record.waiting_for is None
    assert execution_row(db_file, paused.execution_id)["status"] == "cancelled"
    with pytest.raises(ExecutionError, match="already cancelled; there is nothing to cancel"):
        cancel_execution(workbench, paused.execution_id)
    with pytest.raises(NotFoundError, match="no execution with id 'missing'"):
        cancel_execution(workbench, "missing")


def test_cancel_a_finished_execution_is_a_clear_error(workbench: Workbench, llm_env: ScriptedLLMServer) -> None:
    llm_env.responder = echo()
    done = run_workflow(workbench, CHAIN4, {"seed": "s"})
    with pytest.raises(ExecutionError, match=f"execution {done.execution_id} is already completed"):
        cancel_execution(workbench, done.execution_id)
