"""The SQL recorder: what a run leaves in the database, and when each row is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.dbview import APPROVAL, CHAIN4, echo, execution_row, node_of, rows, state_rows
from cagents.app import Workbench, arun_workflow, checkpoint_from_state, run_workflow, start_workflow
from cagents.engine import Checkpoint
from support.llm_server import Reply, ScriptedLLMServer

LOOP = """\
schema_version: "1.0"
flow: {name: loop}
state:
  fields:
    topic: {type: str, required: true}
    draft: {type: str}
    done: {type: bool, default: false}
nodes:
  - {id: write, prompt: "write {topic}", outputs: [draft, done]}
edges:
  - {from: START, to: write}
  - {from: write, loop: {condition_field: done, max_iterations: 3, exit_to: END}}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""


def test_a_run_leaves_its_execution_and_one_state_row_per_node(
    workbench: Workbench, db_file: Path, llm_env: ScriptedLLMServer
) -> None:
    llm_env.responder = echo()
    result = run_workflow(workbench, CHAIN4, {"seed": "s"})
    assert result.status == "completed", result.error

    row = execution_row(db_file, result.execution_id)
    assert row["workflow_name"] == "chain4" and row["status"] == "completed"
    assert row["config_snapshot"] == CHAIN4
    assert json.loads(row["inputs"]) == {"seed": "s"}
    assert json.loads(row["outputs"]) == result.outputs
    assert row["total_tokens"] == result.total_tokens == 40
    assert row["total_cost_usd"] == pytest.approx(result.total_cost_usd) and row["total_cost_usd"] > 0
    assert row["owner"] == workbench.owner_id and row["error_message"] is None
    assert row["completed_at"] is not None and row["duration_seconds"] is not None
    assert json.loads(row["bottleneck_info"])["bottleneck_node"] in {"n1", "n2", "n3", "n4"}

    states = state_rows(db_file, result.execution_id)
    assert [s["node_id"] for s in states] == ["n1", "n2", "n3", "n4"]
    assert [s["step"] for s in states] == [1, 2, 3, 4]
    assert [s["tokens"] for s in states] == [10, 10, 10, 10]  # each node's own, not the running total
    assert all(s["cost_usd"] > 0 for s in states)
    assert sum(s["cost_usd"] for s in states) == pytest.approx(row["total_cost_usd"])
    assert all(s["duration_seconds"] is not None and s["duration_seconds"] >= 0 for s in states)
    assert json.loads(states[1]["state_data"]) == {"seed": "s", "a": "s+n1", "b": "s+n1+n2", "c": None, "d": None}
    resume = json.loads(states[1]["resume_data"])
    assert resume["frontier"] == ["n3"] and resume["tokens"] == 20
    # a finished run gives up its claim
    assert rows(db_file, "SELECT * FROM session_state") == []


def test_accepted_row_exists_before_the_first_request_and_each_checkpoint_before_the_next(
    workbench: Workbench, db_file: Path, llm_env: ScriptedLLMServer
) -> None:
    answer = echo()
    seen: list[tuple[str, list[str], str]] = []

    def respond(body: dict[str, Any]) -> Reply:
        # Read the database file from the server thread at the moment the request arrives.
        executions = rows(db_file, "SELECT id, status FROM executions")
        states = rows(db_file, "SELECT node_id FROM execution_states ORDER BY id")
        seen.append((node_of(body), [e["status"] for e in executions], ",".join(s["node_id"] for s in states)))
        return answer(body)

    llm_env.responder = respond
    result = run_workflow(workbench, CHAIN4, {"seed": "s"})
    assert result.status == "completed", result.error
    assert seen == [
        ("n1", ["running"], ""),
        ("n2", ["running"], "n1"),
        ("n3", ["running"], "n1,n2"),
        ("n4", ["running"], "n1,n2,n3"),
    ]


async def test_a_running_execution_is_claimed_by_this_process(
    workbench: Workbench, db_file: Path, llm_env: ScriptedLLMServer
) -> None:
    import os
    import socket

    claims: list[list[dict[str, Any]]] = []
    answer = echo()

    def respond(body: dict[str, Any]) -> Reply:
        claims.append(rows(db_file, "SELECT execution_id, owner_id, pid, hostname FROM session_state"))
        return answer(body)

    llm_env.responder = respond
    result = await arun_workflow(workbench, CHAIN4, {"seed": "s"})
    assert result.status == "completed", result.error
    assert claims[0] == [{"execution_id": result.execution_id, "owner_id": workbench.owner_id,
                          "pid": os.getpid(), "hostname": socket.gethostname()}]


def test_failed_run_is_recorded_with_its_error_and_the_states_before_it(
    workbench: Workbench, db_file: Path, llm_env: ScriptedLLMServer
) -> None:
    answer = echo()

    def respond(body: dict[str, Any]) -> Reply:
        if node_of(body) == "n3":
            return Reply(status=400, error="n3 is broken today")
        return answer(body)

    llm_env.responder = respond
    result = run_workflow(workbench, CHAIN4, {"seed": "s"})
    assert result.status == "failed"
    row = execution_row(db_file, result.execution_id)
    assert row["status"] == "failed"
    assert "node 'n3'" in row["error_message"] and "n3 is broken today" in row["error_message"]
    assert row["total_tokens"] == 20
    assert [s["node_id"] for s in state_rows(db_file, result.execution_id)] == ["n1", "n2"]
    assert rows(db_file, "SELECT * FROM session_state") == []


def test_a_looping_node_gets_each_runs_own_cost(
    workbench: Workbench, db_file: Path, llm_env: ScriptedLLMServer
) -> None:
    llm_env.reply(json={"draft": "v1", "done": False}, usage=(10, 0))
    llm_env.reply(json={"draft": "v2", "done": False}, usage=(20, 0))
    llm_env.reply(json={"draft": "v3", "done": True}, usage=(30, 0))
    result = run_workflow(workbench, LOOP, {"topic": "t"})
    assert result.status == "completed", result.error
    states = state_rows(db_file, result.execution_id)
    assert [(s["node_id"], s["tokens"]) for s in states] == [("write", 10), ("write", 20), ("write", 30)]


def test_waiting_run_is_recorded_as_waiting_with_what_it_asks(
    workbench: Workbench, db_file: Path, llm_env: ScriptedLLMServer
) -> None:
    llm_env.reply(json={"post": "We ship SSO"})
    result = run_workflow(workbench, APPROVAL, {"news": "SSO"})
    assert result.status == "waiting"
    row = execution_row(db_file, result.execution_id)
    assert row["status"] == "waiting"
    asked = json.loads(row["waiting_for"])
    assert asked["node_id"] == "review" and asked["prompt"] == "Approve this post? We ship SSO"
    assert set(asked["fields"]) == {"approved", "notes"}
    assert [s["node_id"] for s in state_rows(db_file, result.execution_id)] == ["draft", "review"]
    assert rows(db_file, "SELECT * FROM session_state") == []  # nobody owns a paused run


def test_a_stepped_handle_is_recorded_step_by_step(
    workbench: Workbench, db_file: Path, llm_env: ScriptedLLMServer
) -> None:
    llm_env.responder = echo()
    handle = start_workflow(workbench, CHAIN4, {"seed": "s"})
    assert rows(db_file, "SELECT id FROM executions") == []  # nothing is recorded before it starts
    handle.step()
    assert execution_row(db_file, handle.execution_id)["status"] == "running"
    assert [s["node_id"] for s in state_rows(db_file, handle.execution_id)] == ["n1"]
    assert handle.run().status == "completed"
    assert execution_row(db_file, handle.execution_id)["status"] == "completed"


def test_checkpoint_from_state_rebuilds_the_engines_checkpoint(
    workbench: Workbench, llm_env: ScriptedLLMServer
) -> None:
    llm_env.responder = echo()
    result = run_workflow(workbench, CHAIN4, {"seed": "s"})
    stored = workbench.db.executions.states(result.execution_id)[1]
    checkpoint = checkpoint_from_state(stored)
    assert isinstance(checkpoint, Checkpoint)
    assert checkpoint.execution_id == result.execution_id
    assert (checkpoint.step, checkpoint.node_id) == (2, "n2")
    assert checkpoint.state["b"] == "s+n1+n2"
    assert checkpoint.frontier == ["n3"] and checkpoint.waiting == []
    assert checkpoint.tokens == 20 and checkpoint.node_runs == 2
    assert set(checkpoint.metrics) == {"n1", "n2"}
    assert checkpoint.metrics["n1"]["tokens"] == 10
    assert checkpoint.created_at > 0
