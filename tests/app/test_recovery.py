"""Crash recovery: a killed process leaves a resumable execution, never a `running` one."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from app.dbview import CHAIN4, echo, execution_row, node_of, rows, state_rows, wait_for
from cagents.app import Workbench, recover_interrupted, resume_execution, run_workflow
from cagents.app.recovery import pid_alive
from cagents.engine import RunInfo
from support.llm_server import Reply, ScriptedLLMServer

#: The child: opens the workbench on the home given and runs the workflow file given.
CHILD = """
import sys
from pathlib import Path
from cagents.app import Workbench, run_workflow
workbench = Workbench.open(home=Path(sys.argv[1]))
run_workflow(workbench, Path(sys.argv[2]), {"seed": "s"})
"""


def test_a_killed_process_is_marked_interrupted_and_resumes_to_the_same_end(
    tmp_path: Path, home: Path, db_file: Path, llm_env: ScriptedLLMServer
) -> None:
    # The uninterrupted run, for comparison (in a database of its own).
    llm_env.responder = echo()
    with Workbench.open(home=tmp_path / "reference") as reference:
        whole = run_workflow(reference, CHAIN4, {"seed": "s"})
    assert whole.status == "completed", whole.error

    # The child's n3 request is slow, so it is still waiting for it when it is killed.
    answer = echo()
    first_n3 = threading.Event()

    def respond(body: dict[str, Any]) -> Reply:
        reply = answer(body)
        if node_of(body) == "n3" and not first_n3.is_set():
            first_n3.set()
            reply.delay = 60.0
        return reply

    llm_env.responder = respond
    llm_env.requests.clear()
    workflow = tmp_path / "chain4.yaml"
    workflow.write_text(CHAIN4, encoding="utf-8")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(home), str(workflow)], env=dict(os.environ),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: _checkpointed(db_file, "n2"), "n2's checkpoint")
        wait_for(first_n3.is_set, "n3's request")
        child.send_signal(signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        _, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err.decode()

    (execution,) = rows(db_file, "SELECT id, status FROM executions")
    execution_id = execution["id"]
    assert execution["status"] == "running"  # what the dead process left
    assert [s["node_id"] for s in state_rows(db_file, execution_id)] == ["n1", "n2"]
    claim = rows(db_file, "SELECT pid, hostname FROM session_state")
    assert claim == [{"pid": child.pid, "hostname": socket.gethostname()}]

    llm_env.requests.clear()
    with Workbench.open(home=home) as workbench:
        assert workbench.recovered == [execution_id]
        row = execution_row(db_file, execution_id)
        assert row["status"] == "interrupted" and "resume" in row["error_message"]
        assert rows(db_file, "SELECT * FROM session_state") == []

        resumed = resume_execution(workbench, execution_id)
    assert resumed.status == "completed", resumed.error
    assert resumed.outputs == whole.outputs
    assert [node_of(r) for r in llm_env.requests] == ["n3", "n4"]  # only the remaining nodes
    row = execution_row(db_file, execution_id)
    assert row["status"] == "completed" and row["error_message"] is None
    assert json.loads(row["outputs"]) == whole.outputs
    assert row["total_tokens"] == whole.total_tokens
    assert [s["node_id"] for s in state_rows(db_file, execution_id)] == ["n1", "n2", "n3", "n4"]


def _checkpointed(db_file: Path, node_id: str) -> bool:
    """Whether the node's checkpoint is in the file (which may not exist or be migrated yet)."""
    import sqlite3

    try:
        return bool(rows(db_file, "SELECT id FROM execution_states WHERE node_id = ?", node_id))
    except sqlite3.OperationalError:
        return False


async def _accepted(workbench: Workbench, execution_id: str) -> None:
    await workbench.recorder.accepted(RunInfo(
        execution_id=execution_id, workflow_name="chain4", config_text=CHAIN4, config_hash="h",
        inputs={"seed": "s"}, started_at=time.time(),
    ))


async def test_recovery_spares_live_owners_and_takes_dead_or_silent_ones(home: Path, db_file: Path) -> None:
    with Workbench.open(home=home) as workbench:
        for name in ("mine", "dead-pid", "silent", "other-host", "unclaimed-old", "deployed"):
            await _accepted(workbench, name)
        sessions = workbench.db.sessions
        # A process of this host that is gone: a pid no process has.
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        assert not pid_alive(dead.pid) and pid_alive(os.getpid())
        sessions.claim("dead-pid", owner_id="gone", pid=dead.pid, hostname=socket.gethostname())
        sessions.claim("other-host", owner_id="far", pid=1, hostname="elsewhere.example")
        sessions.claim("silent", owner_id="quiet", pid=os.getpid(), hostname=socket.gethostname())
        workbench.db.sessions.release("unclaimed-old")
        workbench.db.sessions.release("deployed")
        workbench.db.executions.update("deployed", deployment_id="dep-1")
        stale_time = "2000-01-01 00:00:00"
        with_sql(db_file, "UPDATE session_state SET heartbeat_at = ? WHERE owner_id = 'quiet'", stale_time)
        with_sql(db_file, "UPDATE executions SET started_at = ? WHERE id IN ('unclaimed-old', 'deployed')",
                 stale_time)

        recovered = recover_interrupted(workbench)
        assert sorted(recovered) == ["dead-pid", "silent", "unclaimed-old"]
        statuses = {r["id"]: r["status"] for r in rows(db_file, "SELECT id, status FROM executions")}
        assert statuses == {"mine": "running", "dead-pid": "interrupted", "silent": "interrupted",
                            "other-host": "running", "unclaimed-old": "interrupted", "deployed": "running"}
        assert recover_interrupted(workbench) == []


def with_sql(db_file: Path, sql: str, *args: Any) -> None:
    import sqlite3

    connection = sqlite3.connect(db_file, timeout=10)
    try:
        with connection:
            connection.execute(sql, args)
    finally:
        connection.close()


def test_heartbeat_keeps_a_claim_fresh(home: Path, db_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAGENTS_HEARTBEAT_SECONDS", "0.05")
    with Workbench.open(home=home) as workbench:
        workbench.db.executions.create(id="x", workflow_name="w", config_snapshot=None, config_hash=None,
                                       inputs=None)
        workbench.db.sessions.claim("x", owner_id=workbench.owner_id, pid=os.getpid(),
                                    hostname=socket.gethostname())
        with_sql(db_file, "UPDATE session_state SET heartbeat_at = '2000-01-01 00:00:00'")
        wait_for(lambda: rows(db_file, "SELECT heartbeat_at FROM session_state")[0]["heartbeat_at"]
                 > "2001", "a heartbeat")


def test_a_bad_heartbeat_setting_names_the_variable(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cagents.errors import CagentsError

    monkeypatch.setenv("CAGENTS_HEARTBEAT_SECONDS", "soon")
    with pytest.raises(CagentsError, match="CAGENTS_HEARTBEAT_SECONDS='soon' is not a positive number"):
        Workbench.open(home=home)
