"""`%load_ext cagents` in a real IPython shell: define, run and step workflows, the panels,
and bad input shown as one message with no traceback. Runs land in the app database."""

from __future__ import annotations

import json
import os
import sqlite3
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import CapturedIO, capture_output
from traitlets.config import Config

from cagents.engine import RunResult, Workflow
from cagents.jupyter import notebook_session

TRIAGE = textwrap.dedent("""\
    schema_version: "1.0"
    flow:
      name: support triage
    state:
      fields:
        ticket: {type: str, required: true}
        score: {type: int}
        reply: {type: str}
    nodes:
      - id: classify
        prompt: "Classify {state.ticket}"
        outputs: [score]
      - id: answer
        name: Write the reply
        prompt: "Reply to {ticket}"
        outputs: [reply]
    edges:
      - {from: START, to: classify}
      - from: classify
        routes:
          - condition: {logic: "state.score >= 8"}
            to: answer
          - condition: {logic: default}
            to: END
      - {from: answer, to: END}
    config:
      llm: {model: gpt-4o-mini}
      execution: {max_retries: 0}
""")

CHAIN3 = textwrap.dedent("""\
    schema_version: "1.0"
    flow: {name: chain}
    state:
      fields:
        topic: {type: str, required: true}
        outline: {type: str}
        draft: {type: str}
        verdict: {type: str}
    nodes:
      - {id: plan, prompt: "Plan {topic}", outputs: [outline]}
      - {id: write, prompt: "Write {outline}", outputs: [draft]}
      - {id: review, prompt: "Review {draft}", outputs: [verdict]}
    edges:
      - {from: START, to: plan}
      - {from: plan, to: write}
      - {from: write, to: review}
      - {from: review, to: END}
    config:
      llm: {model: gpt-4o-mini}
      execution: {max_retries: 0}
""")

#: The TRIAGE cell with `scor` for `score` (cell line 12) and `ENDD` for `END` (line 24).
BROKEN = TRIAGE.replace("outputs: [score]", "outputs: [scor]").replace("to: END\n  - {from: answer",
                                                                        "to: ENDD\n  - {from: answer")

APPROVAL = textwrap.dedent("""\
    schema_version: "1.0"
    flow: {name: approval}
    state:
      fields:
        post: {type: str, required: true}
        approved: {type: bool, default: false}
        notes: {type: str}
    nodes:
      - id: review
        kind: human
        prompt: "Approve {post}?"
        outputs: [approved]
      - {id: summarize, prompt: "Summarize {post}", outputs: [notes]}
    edges:
      - {from: START, to: review}
      - {from: review, to: summarize}
      - {from: summarize, to: END}
""")


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """A fresh IPython shell (the process-wide instance) with the extension loaded."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    InteractiveShell.clear_instance()
    config = Config()
    config.HistoryManager.enabled = False
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "cagents")
    try:
        yield ip
    finally:
        ip.run_line_magic("unload_ext", "cagents")
        InteractiveShell.clear_instance()


def run(ip: InteractiveShell, code: str) -> tuple[Any, CapturedIO]:
    with capture_output() as captured:
        result = ip.run_cell(code)
    return result, captured


def define(ip: InteractiveShell, text: str, name: str = "") -> CapturedIO:
    result, captured = run(ip, f"%%cagents {name}\n{text}")
    assert result.error_in_exec is None, captured.stderr
    return captured


def usage_error(result: Any, captured: CapturedIO) -> str:
    """The message under the cell: a UsageError line on stderr, never a traceback."""
    assert type(result.error_in_exec) is UsageError
    shown = captured.stdout + captured.stderr
    assert "Traceback" not in shown and 'File "' not in shown
    assert captured.stderr.startswith("UsageError: ")
    return captured.stderr


def htmls(captured: CapturedIO) -> list[str]:
    return [o.data["text/html"] for o in captured.outputs if "text/html" in o.data]


def db_rows(query: str, *params: Any) -> list[sqlite3.Row]:
    path = Path(os.environ["CAGENTS_HOME"]) / "configurable_agents.db"
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute(query, params).fetchall()


# ---- loading and defining -------------------------------------------------------------------
def test_load_ext_registers_the_magics_and_opens_nothing_yet(shell: InteractiveShell) -> None:
    magics = shell.magics_manager.magics
    assert "cagents" in magics["line"] and "cagents" in magics["cell"]
    session = notebook_session.current()
    assert session is not None and not session.opened
    assert not (Path(os.environ["CAGENTS_HOME"]) / "configurable_agents.db").exists()


def test_cell_binds_a_workflow_named_after_the_flow_and_shows_the_diagram(shell: InteractiveShell) -> None:
    from cagents.config.diagram import dot_available

    captured = define(shell, TRIAGE)
    workflow = shell.user_ns["support_triage"]
    assert isinstance(workflow, Workflow) and workflow.name == "support triage"
    summary, drawing = (o.data for o in captured.outputs)
    assert "bound to `support_triage`" in summary["text/plain"]
    assert "%cagents run support_triage --input ticket=..." in summary["text/plain"]
    assert drawing["text/markdown"].startswith("```mermaid\nflowchart TD")
    assert "n_classify" in drawing["text/markdown"]
    assert ("image/svg+xml" in drawing) == dot_available()


def test_cell_with_a_name_binds_that_name(shell: InteractiveShell) -> None:
    define(shell, CHAIN3, "writer")
    assert shell.user_ns["writer"].name == "chain"
    assert "chain" not in shell.user_ns


def test_invalid_cell_points_at_its_lines_and_keeps_the_old_definition(shell: InteractiveShell) -> None:
    define(shell, TRIAGE, "triage")
    before = shell.user_ns["triage"]
    result, captured = run(shell, f"%%cagents triage\n{BROKEN}")
    message = usage_error(result, captured)
    assert "2 problems" in message and "line 1 is the first line under %%cagents" in message
    assert "line 12, column 15: node `classify` writes `scor`, which is not a state field" in message
    assert "(did you mean `score`?)" in message
    assert "   12 |     outputs: [scor]" in message
    assert "line 24, column 13: edge leads to unknown node `ENDD`" in message
    assert "triage keeps its previous value" in message
    assert shell.user_ns["triage"] is before


def test_yaml_syntax_error_names_its_line(shell: InteractiveShell) -> None:
    result, captured = run(shell, "%%cagents\nflow: {name: x\nnodes: []\n")
    message = usage_error(result, captured)
    assert "invalid YAML" in message and "line " in message


def test_bad_cell_name_is_refused(shell: InteractiveShell) -> None:
    result, captured = run(shell, f"%%cagents 2fast\n{TRIAGE}")
    assert "one optional NAME (a Python identifier)" in usage_error(result, captured)
    assert "support_triage" not in shell.user_ns


# ---- running ------------------------------------------------------------------------------
def test_run_offline_shows_live_progress_returns_the_state_and_records_it(shell: InteractiveShell) -> None:
    define(shell, TRIAGE)
    result, captured = run(shell, '%cagents run support_triage --input "ticket=printer on fire"')
    assert result.error_in_exec is None, captured.stderr
    state = result.result
    assert state["ticket"] == "printer on fire" and isinstance(state["score"], int)
    outcome = shell.user_ns["support_triage_result"]
    assert isinstance(outcome, RunResult) and outcome.status == "completed" and outcome.simulated

    views = [o for o in captured.outputs if "cagents-progress" in o.data.get("text/html", "")]
    first, last = views[0], views[-1]
    assert not first.update and last.update  # one output, updated in place
    assert first.transient["display_id"] == last.transient["display_id"]
    assert "· pending" in first.data["text/plain"]
    assert "✓ completed" in last.data["text/plain"] and outcome.execution_id in last.data["text/plain"]
    assert "classify" in last.data["text/html"] and "✓ done (simulated)" in last.data["text/html"]

    (row,) = db_rows("SELECT * FROM executions")
    assert row["id"] == outcome.execution_id and row["workflow_name"] == "support triage"
    assert row["status"] == "completed" and row["simulated"] == 1
    assert json.loads(row["inputs"]) == {"ticket": "printer on fire"}


def test_run_against_a_model_server_shows_tokens_and_cost(shell: InteractiveShell, llm_env: Any) -> None:
    llm_env.reply(json={"score": 9}, usage=(1000, 500))
    llm_env.reply(json={"reply": "On it."}, usage=(2000, 1000))
    define(shell, TRIAGE)
    result, captured = run(shell, "%cagents run support_triage -i ticket=down")
    assert result.error_in_exec is None, captured.stderr
    assert result.result["reply"] == "On it."
    final = [o for o in captured.outputs if "cagents-progress" in o.data.get("text/html", "")][-1]
    text = final.data["text/plain"]
    # gpt-4o-mini: $0.15 / $0.60 per million input / output tokens
    assert "1500" in text and "$0.000450" in text  # classify
    assert "3000" in text and "$0.000900" in text  # answer
    assert "4500" in text and "$0.001350" in text  # total
    (row,) = db_rows("SELECT * FROM executions")
    assert row["total_tokens"] == 4500 and row["total_cost_usd"] == pytest.approx(0.00135)
    assert row["status"] == "completed" and row["simulated"] == 0


def test_failed_run_is_shown_and_recorded_without_a_traceback(shell: InteractiveShell, llm_env: Any) -> None:
    llm_env.reply(status=401, error="invalid api key")
    define(shell, TRIAGE)
    result, captured = run(shell, "%cagents run support_triage -i ticket=x")
    message = usage_error(result, captured)
    assert "support triage failed" in message and "support_triage_result" in message
    final = [o for o in captured.outputs if "cagents-progress" in o.data.get("text/html", "")][-1]
    assert "✗ failed" in final.data["text/plain"] and "– not run" in final.data["text/plain"]
    (row,) = db_rows("SELECT status, error_message FROM executions")
    assert row["status"] == "failed" and row["error_message"]
    assert shell.user_ns["support_triage_result"].status == "failed"


def test_inputs_from_a_notebook_variable(shell: InteractiveShell) -> None:
    define(shell, CHAIN3)
    shell.user_ns["given"] = {"topic": "bees"}
    result, captured = run(shell, "%cagents run chain --inputs given")
    assert result.error_in_exec is None, captured.stderr
    assert result.result["topic"] == "bees"


# ---- step by step ---------------------------------------------------------------------------
def test_step_through_three_nodes_then_start_again(shell: InteractiveShell, llm_env: Any) -> None:
    llm_env.reply(json={"outline": "O1"}, usage=(100, 50))
    llm_env.reply(json={"draft": "D1"}, usage=(200, 100))
    llm_env.reply(json={"verdict": "fine"}, usage=(300, 150))
    define(shell, CHAIN3)

    result, captured = run(shell, "%cagents step chain --input topic=bees")
    assert result.error_in_exec is None, captured.stderr
    (first,) = (o.data for o in captured.outputs)
    assert "step 1 · ran plan" in first["text/plain"] and "started execution" in first["text/plain"]
    assert "outline" in first["text/html"] and "&quot;O1&quot;" in first["text/html"]
    assert "next: write" in first["text/plain"]
    assert len(llm_env.requests) == 1  # one node per step

    result, captured = run(shell, "%cagents step chain")
    (second,) = (o.data for o in captured.outputs)
    assert "step 2 · ran write" in second["text/plain"] and "next: review" in second["text/plain"]
    assert "started execution" not in second["text/plain"]
    assert len(llm_env.requests) == 2

    result, captured = run(shell, "%cagents step chain")
    (third,) = (o.data for o in captured.outputs)
    assert "step 3 · ran review" in third["text/plain"] and "✓ completed" in third["text/plain"]
    assert "the next `%cagents step chain` starts a new run" in third["text/plain"]
    assert '"fine"' in third["text/plain"] and "450" in third["text/plain"]
    outcome = shell.user_ns["chain_result"]
    assert outcome.status == "completed" and outcome.outputs["verdict"] == "fine"

    (row,) = db_rows("SELECT * FROM executions")
    assert row["status"] == "completed" and row["total_tokens"] == 900
    states = db_rows("SELECT node_id, step FROM execution_states WHERE execution_id = ? ORDER BY step", row["id"])
    assert [(s["node_id"], s["step"]) for s in states] == [("plan", 1), ("write", 2), ("review", 3)]

    llm_env.reply(json={"outline": "O2"})
    result, captured = run(shell, "%cagents step chain -i topic=ants")
    assert "started execution" in captured.outputs[0].data["text/plain"]
    result, captured = run(shell, "%cagents step chain --reset")
    assert "cancelled" in captured.stdout
    statuses = sorted(r["status"] for r in db_rows("SELECT status FROM executions"))
    assert statuses == ["cancelled", "completed"]
    result, captured = run(shell, "%cagents step chain --reset")
    assert "no step-by-step run of chain is open" in captured.stdout


def test_inputs_while_a_stepped_run_is_open_are_refused(shell: InteractiveShell) -> None:
    define(shell, CHAIN3)
    run(shell, "%cagents step chain -i topic=bees")
    result, captured = run(shell, "%cagents step chain -i topic=ants")
    message = usage_error(result, captured)
    assert "--reset" in message and "at step 1" in message
    result, captured = run(shell, "%cagents step chain")  # the open run is intact
    assert "step 2 · ran write" in captured.outputs[0].data["text/plain"]


def test_a_waiting_run_is_answered_with_step(shell: InteractiveShell) -> None:
    define(shell, APPROVAL)
    result, captured = run(shell, "%cagents run approval -i post=hello")
    assert result.error_in_exec is None and result.result is None
    assert "%cagents step approval --input approved=..." in captured.stdout
    result, captured = run(shell, "%cagents step approval")
    assert "give approved with --input" in usage_error(result, captured)
    result, captured = run(shell, "%cagents step approval --input approved=yes")
    assert result.error_in_exec is None, captured.stderr
    text = captured.outputs[0].data["text/plain"]
    assert "ran review, summarize" in text and "✓ completed" in text
    (row,) = db_rows("SELECT status, outputs FROM executions")
    assert row["status"] == "completed" and json.loads(row["outputs"])["approved"] is True


# ---- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(("line", "expected"), [
    ("%cagents run nothing_here", "no workflow named `nothing_here`: define it with a `%%cagents nothing_here` cell"),
    ("%cagents run chain --input topic", "--input expects NAME=VALUE, got 'topic'"),
    ("%cagents run chain --input tpic=x", "tpic: not a state field"),
    ("%cagents run chain --input tpic=x", "topic: required input missing"),
    ("%cagents run chain --inputs missing", "--inputs missing: expected a dict variable, but it is not defined"),
    ("%cagents rnu chain", "unknown command `rnu`: did you mean `run`?"),
    ("%cagents run chain --input 'topic=x", "cannot read the arguments"),
    ("%cagents run", "the following arguments are required: NAME"),
    ("%cagents run chain --bogus", "unrecognized arguments: --bogus"),
    ("%cagents executions --status done", "--status: unknown status done"),
    ("%cagents run get_ipython", "`get_ipython` is a method, not a workflow (workflows here: chain)"),
])
def test_bad_input_is_one_message_and_changes_nothing(shell: InteractiveShell, line: str, expected: str) -> None:
    define(shell, CHAIN3)
    names = set(shell.user_ns)
    result, captured = run(shell, line)
    assert expected in usage_error(result, captured)
    assert set(shell.user_ns) == names
    assert not db_rows("SELECT id FROM executions") if notebook_session.current().opened else True


def test_help_lists_every_command(shell: InteractiveShell) -> None:
    for line in ("%cagents", "%cagents help", "%cagents run -h"):
        result, captured = run(shell, line)
        assert result.error_in_exec is None
    result, captured = run(shell, "%cagents help")
    for command in ("run", "step", "executions", "deployments", "mlflow", "chat", "new"):
        assert command in captured.stdout


# ---- panels ---------------------------------------------------------------------------------
def test_executions_table_lists_runs_and_escapes_markup(shell: InteractiveShell, llm_env: Any) -> None:
    hostile = "<script>alert(1)</script>"
    llm_env.reply(json={"outline": hostile})  # the one step
    llm_env.reply(json={"outline": hostile})  # the run
    llm_env.reply(json={"draft": "<img src=x onerror=alert(2)>"})
    llm_env.reply(json={"verdict": "ok"})
    define(shell, CHAIN3.replace("flow: {name: chain}", f'flow: {{name: "{hostile}"}}'), "xss")
    result, captured = run(shell, "%cagents step xss -i topic=t")
    result, more = run(shell, "%cagents run xss -i topic=t")
    assert result.error_in_exec is None, more.stderr
    shown = htmls(captured) + htmls(more)
    result, listing = run(shell, "%cagents executions")
    shown += htmls(listing)
    assert all("<script" not in page and "<img" not in page for page in shown)
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in page for page in htmls(captured))
    (table,) = htmls(listing)
    assert table.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2  # the stepped run and the run
    assert "Total: 2" in table and "Running: 1" in table
    run_id = shell.user_ns["xss_result"].execution_id
    assert run_id in table
    result, filtered = run(shell, "%cagents executions --status running --limit 5")
    (table,) = htmls(filtered)
    assert run_id not in table and "Total: 1" in table


def test_deployments_and_chat_panels(shell: InteractiveShell) -> None:
    db = notebook_session.current().workbench().db
    db.deployments.register(deployment_id="d1", deployment_name="<b>bot</b>", workflow_name="triage",
                            host="127.0.0.1", port=8080)
    db.chats.create_session(session_id="s1")
    _, captured = run(shell, "%cagents deployments")
    (table,) = htmls(captured)
    assert "&lt;b&gt;bot&lt;/b&gt;" in table and "127.0.0.1:8080" in table and "● healthy" in table
    assert "Total: 1 · Healthy: 1 · Dead: 0" in table
    _, captured = run(shell, "%cagents chat")
    (table,) = htmls(captured)
    assert "s1" in table and "Talk with the workflow assistant in JupyterLab" in table


def test_mlflow_panel_embeds_the_local_ui_or_links_the_remote_one(
    shell: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, captured = run(shell, "%cagents mlflow")
    assert "tracing is off (CAGENTS_TRACING=off)" in captured.outputs[0].data["text/plain"]
    monkeypatch.setenv("CAGENTS_TRACING", "on")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    _, captured = run(shell, "%cagents mlflow --base-url /user/ann/")
    (page,) = htmls(captured)
    assert '<iframe src="/user/ann/cagents/mlflow/"' in page
    _, captured = run(shell, "%cagents mlflow")
    assert '<iframe src="/cagents/mlflow/"' in htmls(captured)[0]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://mlflow.example.org")
    _, captured = run(shell, "%cagents mlflow")
    (page,) = htmls(captured)
    assert "<iframe" not in page and 'href="https://mlflow.example.org"' in page


def test_new_puts_the_assistants_validated_draft_into_the_next_cell(shell: InteractiveShell) -> None:
    result, captured = run(shell, '%cagents new "triage support tickets, then ask a person to approve the reply"')
    assert result.error_in_exec is None
    cell = shell.rl_next_input
    assert cell.startswith("%%cagents\n")
    assert "kind: human" in cell  # the offline drafter read "ask a person to approve"
    # The draft is a valid workflow: running that cell binds it.
    result, captured = run(shell, cell)
    assert result.error_in_exec is None, usage_error(result, captured)
    result, captured = run(shell, "%cagents new")
    assert "the following arguments are required: description" in usage_error(result, captured)


def test_unload_closes_the_workbench(shell: InteractiveShell) -> None:
    define(shell, CHAIN3)
    run(shell, "%cagents run chain -i topic=x")
    session = notebook_session.current()
    assert session is not None and session.opened
    shell.run_line_magic("unload_ext", "cagents")
    assert notebook_session.current() is None and not session.opened
    shell.run_line_magic("load_ext", "cagents")  # the fixture unloads it again


def test_deploy_runs_the_workflow_as_a_service_and_stop_leaves_nothing(shell: InteractiveShell) -> None:
    import httpx

    from cagents.cli import main
    from cagents.deploy import local

    define(shell, CHAIN3)
    result, captured = run(shell, "%cagents deploy chain --target process -e CANARY_KEY=sk-magic-canary")
    assert result.error_in_exec is None, usage_error(result, captured)
    deployed = result.result
    assert deployed["target"] == "process" and deployed["workflow"] == "chain"
    assert "no registry runs" in captured.stdout
    try:
        assert httpx.get(f"{deployed['url']}/health", timeout=10).status_code == 200
        answer = httpx.post(f"{deployed['url']}/execute", json={"inputs": {"topic": "tides"}}, timeout=60)
        assert answer.status_code == 200 and answer.json()["status"] == "completed", answer.text
        records = notebook_session.current().workbench().db.deployments.list()
        assert [r.deployment_id for r in records] == [deployed["deployment_id"]]
    finally:
        assert main(["deployments", "stop", deployed["deployment_id"]]) == 0
    assert local.load_all() == []
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{deployed['url']}/health", timeout=2)

    result, captured = run(shell, "%cagents deploy nope")
    assert "no workflow named `nope`" in usage_error(result, captured)
    result, captured = run(shell, "%cagents deploy chain -e NOEQUALS")
    assert "--env expects NAME=VALUE, got 'NOEQUALS'" in usage_error(result, captured)
