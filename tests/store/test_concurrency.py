"""Several OS processes writing one database at once: no errors, no lost rows.

Each writer also opens the database itself, so on a fresh file they race to migrate it too.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cagents.store import ExecutionFilters, open_database

WRITER = Path(__file__).with_name("concurrent_writer.py")
PROCESSES = 4
EXECUTIONS = 200
CHECKPOINTS = 5


def _run_writers(url: str, go: Path) -> list[subprocess.Popen[str]]:
    procs = [
        subprocess.Popen(
            [sys.executable, str(WRITER), url, f"p{n}", str(EXECUTIONS), str(CHECKPOINTS), str(go)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for n in range(PROCESSES)
    ]
    go.touch()
    return procs


@pytest.mark.timeout(300)
def test_processes_write_one_fresh_database_at_once(empty_url: str, tmp_path: Path) -> None:
    procs = _run_writers(empty_url, tmp_path / "go")
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=280)
        results.append((proc.returncode, out.strip(), err.strip()))
    assert [r[0] for r in results] == [0] * PROCESSES, results
    assert [r[1] for r in results] == [f"{EXECUTIONS} {EXECUTIONS * CHECKPOINTS}"] * PROCESSES

    with open_database(empty_url) as db:
        summary = db.executions.summary()
        assert (summary.total, summary.completed) == (PROCESSES * EXECUTIONS,) * 2
        assert summary.total_cost_usd == pytest.approx(PROCESSES * EXECUTIONS * 0.01)
        assert db.executions.workflows() == [f"wf-p{n}" for n in range(PROCESSES)]
        for n in range(PROCESSES):
            per = db.executions.summary(ExecutionFilters(workflow=f"wf-p{n}"))
            assert per.total == EXECUTIONS
        with db.read() as conn:
            states = conn.exec_driver_sql("SELECT count(*) FROM execution_states").scalar()
            per_execution = conn.exec_driver_sql(
                "SELECT count(*) FROM (SELECT execution_id FROM execution_states "
                "GROUP BY execution_id HAVING count(*) = 5) t"
            ).scalar()
        assert states == PROCESSES * EXECUTIONS * CHECKPOINTS
        assert per_execution == PROCESSES * EXECUTIONS
        # The running totals agree with a recount from the rows.
        db.executions.rebuild_stats()
        assert db.executions.summary() == summary


def test_threads_share_one_database(db_url: str) -> None:
    with open_database(db_url) as db:
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(40):
                    db.executions.create(id=f"t{n}-{i}", workflow_name="w", config_snapshot=None,
                                         config_hash=None, inputs=None)
                    db.executions.add_state(f"t{n}-{i}", node_id="a", step=1, state_data={"n": n},
                                            duration_seconds=None, tokens=None, cost_usd=None, resume_data=None)
                    db.executions.list(limit=5)
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert db.executions.summary().total == 240
