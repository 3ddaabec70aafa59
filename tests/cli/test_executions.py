"""`cagents executions ...` and the recording of `cagents run`, against the database in CAGENTS_HOME."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cagents.cli import main
from support.llm_server import ScriptedLLMServer

APPROVAL = """\
schema_version: "1.0"
flow: {name: approval}
state:
  fields:
    news: {type: str, required: true}
    post: {type: str}
    approved: {type: bool, default: false}
    outcome: {type: str}
nodes:
  - {id: draft, prompt: "draft {news}", outputs: [post]}
  - {id: review, kind: human, prompt: "Approve {post}?", outputs: [approved]}
  - {id: publish, prompt: "publish {post}", outputs: [outcome]}
edges:
  - {from: START, to: draft}
  - {from: draft, to: review}
  - {from: review, to: publish}
  - {from: publish, to: END}
config:
  llm: {model: gpt-4o-mini}
"""


def _db() -> Path:
    return Path(os.environ["CAGENTS_HOME"]) / "configurable_agents.db"


def _rows(sql: str, *args: Any) -> list[dict[str, Any]]:
    connection = sqlite3.connect(_db(), timeout=10)
    try:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(sql, args).fetchall()]
    finally:
        connection.close()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code, out, err = _run(capsys, *argv)
    assert "Traceback" not in err
    return code, json.loads(out)


def _triage(llm: ScriptedLLMServer, file: str, capsys: pytest.CaptureFixture[str], score: int = 9) -> dict[str, Any]:
    llm.reply(json={"score": score}, usage=(100, 50))
    if score >= 8:
        llm.reply(json={"reply": "on it"}, usage=(200, 100))
    code, result = _run_json(capsys, "run", file, "-i", "ticket=server down", "--json", "-q")
    assert code == 0, result
    return result


def test_run_records_the_execution_with_its_checkpoints(
    valid_file: str, llm_env: ScriptedLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _triage(llm_env, valid_file, capsys)
    (row,) = _rows("SELECT * FROM executions")
    assert row["id"] == result["execution_id"]
    assert row["status"] == "completed" and row["workflow_name"] == "triage"
    assert row["total_tokens"] == result["total_tokens"] == 450
    assert json.loads(row["inputs"]) == {"ticket": "server down"}
    states = _rows("SELECT node_id, tokens FROM execution_states ORDER BY id")
    assert states == [{"node_id": "classify", "tokens": 150}, {"node_id": "answer", "tokens": 300}]


def test_show_prints_details_timeline_and_bottleneck(
    valid_file: str, llm_env: ScriptedLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _triage(llm_env, valid_file, capsys)
    code, out, err = _run(capsys, "executions", "show", result["execution_id"])
    assert code == 0 and err == ""
    assert out.startswith(f"execution {result['execution_id']}\n")
    assert "  workflow     triage" in out and "  status       completed" in out
    assert "just now" in out and '"ticket": "server down"' in out
    timeline = out.split("timeline\n", 1)[1].splitlines()
    assert timeline[0].split() == ["STEP", "NODE", "DURATION", "TOKENS", "COST", "SHARE"]
    assert timeline[1].split()[:2] == ["1", "classify"] and timeline[1].split()[3] == "150"
    assert timeline[2].split()[:2] == ["2", "answer"] and timeline[2].split()[3] == "300"
    assert out.rstrip().splitlines()[-1].startswith(f"bottleneck: {result['bottleneck']['bottleneck_node']} (")

    code, shown = _run_json(capsys, "executions", "show", result["execution_id"], "--json")
    assert code == 0
    assert shown["execution"]["id"] == result["execution_id"]
    assert shown["execution"]["status"] == "completed"
    assert shown["execution"]["started_at"].endswith("+00:00")
    assert [s["node_id"] for s in shown["states"]] == ["classify", "answer"]
    assert [s["tokens"] for s in shown["states"]] == [150, 300]
    assert shown["states"][1]["state_data"]["reply"] == "on it"
    assert "resume_data" not in shown["states"][0]


def test_list_shows_table_summary_filters_and_pages(
    valid_file: str, llm_env: ScriptedLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _triage(llm_env, valid_file, capsys)
    second = _triage(llm_env, valid_file, capsys, score=2)
    llm_env.reply(status=401, error="invalid api key")
    code, failed = _run_json(capsys, "run", valid_file, "-i", "ticket=x", "--json", "-q")
    assert code == 1 and failed["status"] == "failed"

    code, out, err = _run(capsys, "executions", "list")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "WORKFLOW", "STATUS", "STARTED", "DURATION", "TOKENS", "COST"]
    ids = [line.split()[0] for line in lines[1:4]]
    assert ids == [failed["execution_id"], second["execution_id"], first["execution_id"]]  # newest first
    assert lines[1].split()[2] == "failed" and "just now" in lines[1]
    assert lines[3].split()[-2] == "450" and lines[3].split()[-1].startswith("$")
    assert lines[4].startswith("3 total: 2 completed, 1 failed, 0 running; cost $")

    code, listed = _run_json(capsys, "executions", "list", "--status", "completed", "--json")
    assert code == 0
    assert [item["id"] for item in listed["items"]] == [second["execution_id"], first["execution_id"]]
    assert listed["summary"]["total"] == 2 and listed["summary"]["failed"] == 0
    assert listed["next_cursor"] is None
    assert "config_snapshot" not in listed["items"][0]

    code, page1 = _run_json(capsys, "executions", "list", "--limit", "2", "--json")
    assert [item["id"] for item in page1["items"]] == [failed["execution_id"], second["execution_id"]]
    code, page2 = _run_json(capsys, "executions", "list", "--limit", "2", "--cursor", page1["next_cursor"], "--json")
    assert [item["id"] for item in page2["items"]] == [first["execution_id"]] and page2["next_cursor"] is None
    code, out, _ = _run(capsys, "executions", "list", "--limit", "2")
    assert out.rstrip().splitlines()[-1] == f"more: --cursor {page1['next_cursor']}"

    code, found = _run_json(capsys, "executions", "list", "--search", "WAS REFUSED", "--json")
    assert [item["id"] for item in found["items"]] == [failed["execution_id"]]
    code, none = _run_json(capsys, "executions", "list", "--workflow", "other", "--json")
    assert none["items"] == [] and none["summary"]["total"] == 0
    code, out, _ = _run(capsys, "executions", "list", "--until", "2000-01-01")
    assert out.splitlines()[0] == "no executions match"
    code, later = _run_json(capsys, "executions", "list", "--since", "2000-01-01T00:00:00Z", "--json")
    assert later["summary"]["total"] == 3


def test_rerun_runs_again_and_links_to_the_original(
    valid_file: str, llm_env: ScriptedLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    original = _triage(llm_env, valid_file, capsys)
    llm_env.reply(json={"score": 9})
    llm_env.reply(json={"reply": "again"})
    code, out, err = _run(capsys, "executions", "rerun", original["execution_id"], "--json")
    assert code == 0
    result = json.loads(out)
    assert result["execution_id"] != original["execution_id"]
    assert result["outputs"]["reply"] == "again"
    assert f"execution {result['execution_id']} of triage (re-run of {original['execution_id']})" in err
    (row,) = _rows("SELECT retry_of FROM executions WHERE id = ?", result["execution_id"])
    assert row["retry_of"] == original["execution_id"]
    shown = _run(capsys, "executions", "show", result["execution_id"])[1]
    assert f"  re-run of    {original['execution_id']}" in shown


def test_resume_answers_a_waiting_execution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, llm_env: ScriptedLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("approval.yaml").write_text(APPROVAL, encoding="utf-8")
    llm_env.reply(json={"post": "P"})
    code, paused = _run_json(capsys, "run", "approval.yaml", "-i", "news=n", "--json", "-q")
    assert code == 3 and paused["status"] == "waiting"
    execution_id = paused["execution_id"]

    code, out, err = _run(capsys, "executions", "show", execution_id)
    assert "  waiting for  node review: Approve P?" in out and "  values       approved" in out

    code, out, err = _run(capsys, "executions", "resume", execution_id)
    assert code == 1 and out == ""
    assert "waits for input at node `review`" in err and "--input NAME=VALUE" in err

    code, out, err = _run(capsys, "executions", "resume", execution_id, "-i", "approved=maybe")
    assert code == 1 and "approved" in err and "Traceback" not in err

    llm_env.reply(json={"outcome": "published"})
    code, out, err = _run(capsys, "executions", "resume", execution_id, "--input", "approved=yes", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "completed" and result["outputs"]["outcome"] == "published"
    assert result["execution_id"] == execution_id
    assert f"execution {execution_id} of approval (waiting; resuming after step 2)" in err
    assert [r["messages"][-1]["content"] for r in llm_env.requests] == ["draft n", "publish P"]

    code, out, err = _run(capsys, "executions", "resume", execution_id)
    assert code == 1
    assert "is completed and cannot be resumed" in err and f"cagents executions rerun {execution_id}" in err


def test_resume_of_a_failed_run_is_refused_and_rerun_is_suggested(
    valid_file: str, llm_env: ScriptedLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    llm_env.reply(status=401, error="invalid api key")
    code, failed = _run_json(capsys, "run", valid_file, "-i", "ticket=x", "--json", "-q")
    code, out, err = _run(capsys, "executions", "resume", failed["execution_id"])
    assert code == 1 and "is failed and cannot be resumed" in err and "rerun" in err


def test_cancel_a_waiting_execution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, llm_env: ScriptedLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("approval.yaml").write_text(APPROVAL, encoding="utf-8")
    llm_env.reply(json={"post": "P"})
    _, paused = _run_json(capsys, "run", "approval.yaml", "-i", "news=n", "--json", "-q")
    code, out, err = _run(capsys, "executions", "cancel", paused["execution_id"])
    assert code == 0 and out == f"execution {paused['execution_id']} cancelled\n"
    code, record = _run_json(capsys, "executions", "show", paused["execution_id"], "--json")
    assert record["execution"]["status"] == "cancelled"
    code, out, err = _run(capsys, "executions", "cancel", paused["execution_id"], "--json")
    assert code == 1 and out == ""
    assert err == f"cagents: error: execution {paused['execution_id']} is already cancelled; there is nothing to cancel\n"


def test_cancel_json_of_a_run_owned_by_another_process_is_a_request(
    valid_file: str, llm_env: ScriptedLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """An execution whose owner is alive elsewhere gets a request, carried out by its heartbeat."""
    import socket

    from cagents.app import Workbench

    with Workbench.open() as owner:
        owner.db.executions.create(id="elsewhere", workflow_name="triage", config_snapshot=None,
                                   config_hash=None, inputs={})
        owner.db.sessions.claim("elsewhere", owner_id="live-owner", pid=os.getpid(), hostname=socket.gethostname())
    code, record = _run_json(capsys, "executions", "cancel", "elsewhere", "--json")
    assert code == 0
    assert record["status"] == "running" and record["cancel_requested"] is True
    code, out, _ = _run(capsys, "executions", "cancel", "elsewhere")
    assert out.startswith("execution elsewhere: cancel requested; the process running it stops it")
    code, out, _ = _run(capsys, "executions", "show", "elsewhere")
    assert "  status       running (cancel requested)" in out and "timeline: no node has finished" in out


@pytest.mark.parametrize("action", ["show", "rerun", "resume", "cancel"])
def test_unknown_id_is_a_one_line_error(action: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "executions", action, "no-such-id")
    assert code == 1 and out == ""
    assert err == "cagents: error: no execution with id 'no-such-id'\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["executions", "list", "--status", "done"], "unknown status done"),
        (["executions", "list", "--limit", "0"], "'0' is not a positive whole number"),
        (["executions", "list", "--since", "yesterday"], "'yesterday' is not an ISO date"),
        (["executions", "show"], "the following arguments are required: ID"),
        (["executions", "frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_no_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "executions")
    assert code == 2 and out == "" and "name an action" in err


def test_a_bad_cursor_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "executions", "list", "--cursor", "garbage!")
    assert code == 1 and "invalid cursor" in err and "Traceback" not in err


def test_empty_history(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "executions", "list")
    assert code == 0
    assert out == "no executions match\n0 total: 0 completed, 0 failed, 0 running; cost $0.000000\n"
