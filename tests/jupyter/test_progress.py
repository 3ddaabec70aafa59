"""The live progress view: what it shows while and after a real run, in-place updates,
throttling, escaping; and the same view inside a real kernel, under its own cell."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets.config import Config

import cagents
from cagents.engine.events import (
    ExecutionFinished,
    ExecutionStarted,
    NodeFailed,
    NodeFinished,
    NodeStarted,
    TokenStreamed,
)
from cagents.jupyter.progress import ProgressView, StepReport, step_bundle

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

FANOUT = textwrap.dedent("""\
    schema_version: "1.0"
    flow: {name: "<b>fan</b>"}
    state:
      fields:
        topic: {type: str, required: true}
        plan: {type: str}
        a: {type: str}
        b: {type: str}
        merged: {type: str}
        unused: {type: str}
    nodes:
      - {id: prep, prompt: "Plan {topic}", outputs: [plan]}
      - {id: left, prompt: "A {topic}", outputs: [a]}
      - {id: right, name: "<i>Right</i>", prompt: "B {topic}", outputs: [b]}
      - {id: join, prompt: "Join {a} {b}", outputs: [merged]}
      - {id: never, prompt: "x", outputs: [unused]}
    edges:
      - {from: START, to: prep}
      - {from: prep, to: [left, right]}
      - {from: left, to: join}
      - {from: right, to: join}
      - from: join
        routes:
          - {condition: {logic: "state.merged == 'nope'"}, to: never}
          - {condition: {logic: default}, to: END}
      - {from: never, to: END}
""")


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """The process-wide IPython shell, fresh for the test (displays need one)."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    InteractiveShell.clear_instance()
    config = Config()
    config.HistoryManager.enabled = False
    yield InteractiveShell.instance(config=config)
    InteractiveShell.clear_instance()


def test_view_follows_a_map_run_without_counting_items_twice() -> None:
    workflow = cagents.load(EXAMPLES / "summarize_documents.yaml")
    view = ProgressView(workflow.spec, live=False)
    result = workflow.run({"documents": ["one", "two", "three"]}, subscribers=[view])
    assert result.status == "completed" and result.simulated
    rows = view.rows
    assert [r.status for r in rows.values()] == ["done", "done", "done"]
    assert rows["summarize_one"].items_done == 3 and rows["summarize_one"].items_started == 3
    assert "✓ done (3/3 items) (simulated)" in view.text()
    tokens, _, _ = view.summary()
    assert tokens == result.total_tokens
    assert sum(r.tokens for r in rows.values()) == result.total_tokens  # items folded into their node
    assert view.execution_id == result.execution_id
    assert f"execution {result.execution_id}" in view.text()


def test_view_marks_nodes_that_did_not_run_and_escapes_names() -> None:
    workflow = cagents.load(FANOUT)
    view = ProgressView(workflow.spec, live=False)
    workflow.run({"topic": "<script>alert(1)</script>"}, subscribers=[view])
    page = view.html()
    assert "<b>" not in page and "<i>" not in page and "<script" not in page
    assert "&lt;b&gt;fan&lt;/b&gt;" in page and "right (&lt;i&gt;Right&lt;/i&gt;)" in page
    assert view.rows["never"].status == "not run" and "– not run" in page
    assert view.rows["join"].status == "done"
    assert repr(view) == view.text() and view._repr_html_() == page


def test_failure_and_cancel_statuses() -> None:
    view = ProgressView(cagents.load(FANOUT).spec, live=False)
    view(ExecutionStarted("e1", workflow_name="fan"))
    view(NodeStarted("e1", node_id="left", step=1, kind="llm"))
    view(NodeStarted("e1", node_id="right", step=1, kind="llm"))
    view(NodeFailed("e1", node_id="left", step=1, error="<img src=x onerror=alert(1)> broke", duration_s=0.5))
    view(ExecutionFinished("e1", status="failed", error="node 'left': <img> broke", total_tokens=0,
                           total_cost_usd=0.0, duration_s=0.6))
    assert view.rows["left"].status == "failed" and view.rows["right"].status == "failed"
    assert view.rows["join"].status == "not run"
    page = view.html()
    assert "<img" not in page and "left: &lt;img src=x onerror=alert(1)&gt; broke" in page
    assert "✗ failed" in view.text()


def test_live_view_updates_one_output_in_place_and_throttles_tokens(shell: InteractiveShell) -> None:
    view = ProgressView(cagents.load(FANOUT).spec, live=True, min_interval=3600)
    with capture_output() as captured:
        view(ExecutionStarted("e1", workflow_name="fan"))  # the first event shows the table
        view(NodeStarted("e1", node_id="left", step=1, kind="llm"))
        for _ in range(500):
            view(TokenStreamed("e1", node_id="left", text="tok "))
        view(NodeFinished("e1", node_id="left", step=1, duration_s=0.2, tokens=7, cost_usd=0.001))
        view(ExecutionFinished("e1", status="completed", error=None, total_tokens=7, total_cost_usd=0.001,
                               duration_s=0.3))
    first, last = captured.outputs  # the final event is always shown, whatever the interval
    assert not first.update and last.update
    assert first.transient["display_id"] == last.transient["display_id"]
    assert "▶ running" not in first.data["text/plain"]
    assert "✓ completed" in last.data["text/plain"] and "$0.001000" in last.data["text/plain"]
    assert view.renders == 2


def test_refresh_publishes_only_changes(shell: InteractiveShell) -> None:
    view = ProgressView(cagents.load(FANOUT).spec, live=False, min_interval=0)
    with capture_output() as captured:
        view.show()
        view.refresh()  # nothing changed, nothing running: nothing sent
        view(NodeStarted("e1", node_id="left", step=1, kind="llm"))
        view.refresh()
        view.refresh()
    assert len(captured.outputs) == 2 and captured.outputs[1].update
    assert "▶ running" in captured.outputs[1].data["text/plain"]


def test_step_bundle_shows_changes_as_escaped_json() -> None:
    report = StepReport(
        name="w", workflow_name="<script>w</script>", execution_id="e1", step=2, nodes=["write"],
        metrics={"write": (0.5, 30, 0.00002)}, changes={"draft": (None, "<script>x</script>"), "n": (0, 3)},
        status="running", next_nodes=["review"],
    )
    bundle = step_bundle(report)
    page = bundle["text/html"]
    assert "<script" not in page
    assert "&quot;&lt;script&gt;x&lt;/script&gt;&quot;" in page and "null" in page
    assert "next: review" in bundle["text/plain"] and "$0.000020" in bundle["text/plain"]


def test_in_a_real_kernel_the_view_updates_under_its_own_cell(llm_env: Any) -> None:
    """Updates come from the cell's thread, so the kernel sends them with the cell's header."""
    from jupyter_client.manager import start_new_kernel

    llm_env.reply(json={"plan": "P"}, delay=0.6)
    llm_env.reply(json={"a": "A"}, delay=0.6)
    llm_env.reply(json={"b": "B"}, delay=0.6)
    llm_env.reply(json={"merged": "AB"}, delay=0.6)
    kernel, client = start_new_kernel(kernel_name="python3")
    try:
        def execute(code: str) -> tuple[str, list[dict[str, Any]]]:
            msg_id = client.execute(code)
            messages = []
            while True:
                message = client.get_iopub_msg(timeout=60)
                if message["parent_header"].get("msg_id") != msg_id:
                    continue
                if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                    break
                if message["msg_type"] not in ("status", "execute_input"):
                    messages.append(message)
            return client.get_shell_msg(timeout=60)["content"]["status"], messages

        assert execute("%load_ext cagents")[0] == "ok"
        assert execute("%%cagents fan\n" + FANOUT)[0] == "ok"
        status, messages = execute("%cagents run fan --input topic=bees")
        assert status == "ok"
        kinds = [m["msg_type"] for m in messages]
        assert kinds[0] == "display_data" and kinds[-1] == "execute_result"
        updates = [m for m in messages if m["msg_type"] == "update_display_data"]
        assert len(updates) >= 2  # the view changed while the run went on
        assert "✓ completed" in updates[-1]["content"]["data"]["text/plain"]
        display_id = messages[0]["content"]["transient"]["display_id"]
        assert all(m["content"]["transient"]["display_id"] == display_id for m in updates)

        status, messages = execute("%cagents run fan --input nope=1")
        assert status == "error"
        streams = "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")
        assert "UsageError: invalid inputs" in streams and "nope: not a state field" in streams
        assert not [m for m in messages if m["msg_type"] == "error" and m["content"]["traceback"]]
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)
