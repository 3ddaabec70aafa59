"""The Executions panel in a real JupyterLab and Chromium: the sidebar, the detail, the actions.

Executions are recorded the way people record them (the `cagents` CLI, in the lab's home)
and the panel is read as a person reads it: what is on screen, in the browser.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from browser._lab import Lab, missing, open_sidebar

try:
    from playwright.sync_api import expect
except ImportError:
    missing("the playwright package is not installed (pip install playwright)")

TWO_NODES = """\
schema_version: "1.0"
flow:
  name: browser_demo
state:
  fields:
    topic: {type: str, required: true}
    notes: {type: str}
    summary: {type: str}
nodes:
  - id: research
    prompt: "List three facts about {topic}."
    outputs: [notes]
  - id: summarize
    prompt: "Summarize: {notes}"
    outputs: [summary]
edges:
  - {from: START, to: research}
  - {from: research, to: summarize}
  - {from: summarize, to: END}
"""

FAILING = """\
schema_version: "1.0"
flow:
  name: failing_demo
state:
  fields:
    x: {type: int, required: true}
    y: {type: int}
nodes:
  - id: explode
    kind: code
    inputs:
      x: "{x}"
    code: |
      raise ValueError("boom at " + str(inputs["x"]))
    outputs: [y]
edges:
  - {from: START, to: explode}
  - {from: explode, to: END}
"""

XSS_NAME = '<img src=x onerror="window.__cagentsXss=1"><script>window.__cagentsXss=2</script>'
INJECTION = f"""\
schema_version: "1.0"
flow:
  name: {json.dumps(XSS_NAME)}
state:
  fields:
    topic: {{type: str, required: true}}
    notes: {{type: str}}
nodes:
  - id: research
    prompt: "Facts about {{topic}}"
    outputs: [notes]
edges:
  - {{from: START, to: research}}
  - {{from: research, to: END}}
"""


def run_cli(lab: Lab, name: str, text: str, *inputs: str) -> dict[str, Any]:
    """Record an execution with `cagents run --json` in the lab's home; its JSON result."""
    path = lab.root / name
    path.write_text(text)
    args = [arg for value in inputs for arg in ("--input", value)]
    done = lab.cagents("run", str(path), *args, "--json", check=False)
    assert done.stdout, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def row(sidebar: Any, execution_id: str) -> Any:
    return sidebar.locator(f'tr.cag-row[data-execution-id="{execution_id}"]')


def wait_every_row(page: Any, cell: str, text: str) -> None:
    """Wait until the sidebar lists rows and each row's `cell` reads `text` (the list reloaded)."""
    page.wait_for_function(
        """([cell, text]) => {
          const cells = [...document.querySelectorAll('#cagents-sidebar tr.cag-row ' + cell)];
          return cells.length > 0 && cells.every(el => el.textContent === text);
        }""",
        arg=[cell, text],
    )


@pytest.fixture(scope="module")
def demo(lab: Lab) -> dict[str, Any]:
    """One completed two-node run and one failed run, recorded by the CLI."""
    done = run_cli(lab, "demo.yaml", TWO_NODES, "topic=owls")
    failed = run_cli(lab, "failing.yaml", FAILING, "x=3")
    assert done["status"] == "completed" and failed["status"] == "failed"
    return {"done": done, "failed": failed}


def test_sidebar_lists_a_cli_execution_and_opens_its_timeline(page: Any, lab: Lab, demo: dict[str, Any]) -> None:
    sidebar = open_sidebar(page, lab)
    done = row(sidebar, demo["done"]["execution_id"])
    expect(done).to_be_visible()
    expect(done.locator(".cag-col-workflow")).to_contain_text("browser_demo")
    expect(done.locator(".cag-badge")).to_have_text("Completed")
    expect(done.locator(".cag-col-started")).to_have_text(re.compile(r"just now|min ago"))
    failed = row(sidebar, demo["failed"]["execution_id"])
    expect(failed.locator(".cag-badge")).to_have_text("Failed")
    expect(failed.locator('[data-action="retry"]')).to_be_visible()
    expect(done.locator('[data-action="retry"]')).to_have_count(0)
    expect(sidebar.locator('[data-summary="failed"] .cag-summary-value')).not_to_have_text("0")

    done.locator('[data-action="view"]').click()
    detail = sidebar.locator(".cag-execution-detail")
    expect(detail.locator('[data-role="workflow"]')).to_have_text("browser_demo")
    expect(detail.locator(".cag-facts .cag-badge")).to_have_text("Completed")
    expect(detail.locator('[data-section="inputs"]')).to_contain_text('"owls"')
    expect(detail.locator('[data-section="outputs"]')).to_contain_text("summary")
    timeline = detail.locator('[data-role="timeline"]')
    expect(timeline.locator(".cag-step")).to_have_count(2)
    expect(timeline.locator(".cag-step-name")).to_have_text(["research", "summarize"])
    bottleneck = demo["done"]["bottleneck"]["bottleneck_node"]
    expect(timeline.locator(".cag-step.cag-bottleneck .cag-step-name")).to_have_text(bottleneck)
    expect(detail.locator('[data-role="node-chart"] .cag-bar')).to_have_count(2)
    expect(detail.locator('[data-role="node-chart"] .cag-bar.cag-bottleneck')).to_have_attribute("data-node", bottleneck)
    expect(detail.locator('[data-action="download-config"]')).to_have_attribute(
        "href", re.compile(r"/cagents/api/executions/.+/config$"))

    detail.locator('[data-action="back"]').click()
    expect(row(sidebar, demo["done"]["execution_id"])).to_be_visible()


def test_a_script_in_a_workflow_name_is_shown_as_text(page: Any, lab: Lab) -> None:
    result = run_cli(lab, "injection.yaml", INJECTION, "topic=a")
    sidebar = open_sidebar(page, lab)
    injected = row(sidebar, result["execution_id"])
    expect(injected.locator(".cag-workflow-name")).to_have_text(XSS_NAME)
    injected.click()
    expect(sidebar.locator('.cag-execution-detail [data-role="workflow"]')).to_have_text(XSS_NAME)
    assert sidebar.locator("img, script").count() == 0
    assert page.evaluate("() => window.__cagentsXss") is None


def test_filters_narrow_the_list_and_the_summary(page: Any, lab: Lab, demo: dict[str, Any]) -> None:
    sidebar = open_sidebar(page, lab)
    expect(row(sidebar, demo["done"]["execution_id"])).to_be_visible()
    sidebar.locator('select[data-filter="status"]').select_option(label="Failed")
    wait_every_row(page, ".cag-badge", "Failed")
    expect(row(sidebar, demo["failed"]["execution_id"])).to_be_visible()
    expect(sidebar.locator('[data-summary="completed"] .cag-summary-value')).to_have_text("0")
    sidebar.locator('select[data-filter="status"]').select_option(label="All statuses")
    sidebar.locator('input[data-filter="q"]').fill("no-such-execution-anywhere")
    expect(sidebar.locator(".cag-empty")).to_contain_text("No executions match these filters")
    sidebar.locator('input[data-filter="q"]').fill("")
    sidebar.locator('select[data-filter="workflow"]').select_option("failing_demo")
    wait_every_row(page, ".cag-workflow-name", "failing_demo")
    sidebar.locator('[data-range="today"]').click()
    expect(row(sidebar, demo["failed"]["execution_id"])).to_be_visible()


def test_retry_of_a_failed_execution_opens_the_new_run(page: Any, lab: Lab, demo: dict[str, Any]) -> None:
    sidebar = open_sidebar(page, lab)
    failed_id = demo["failed"]["execution_id"]
    row(sidebar, failed_id).locator('[data-action="retry"]').click()
    detail = sidebar.locator(".cag-execution-detail")
    expect(detail).not_to_have_attribute("data-execution-id", failed_id)
    expect(detail.locator(".cag-facts .cag-badge")).to_have_text("Failed")
    expect(detail.locator('[data-role="error"]')).to_contain_text("boom at 3")
    new_id = detail.get_attribute("data-execution-id")
    status, record = lab.api("GET", f"executions/{new_id}")
    assert status == 200 and record["retry_of"] == failed_id and record["status"] == "failed"


def test_a_waiting_execution_is_answered_and_followed_live(page: Any, lab: Lab) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "publish_approval.yaml"
    waiting = run_cli(lab, "approval.yaml", example.read_text(), "announcement=SSO for everyone")
    assert waiting["status"] == "waiting"
    sidebar = open_sidebar(page, lab)
    waiting_row = row(sidebar, waiting["execution_id"])
    expect(waiting_row.locator(".cag-badge")).to_have_text("Waiting")
    waiting_row.click()
    detail = sidebar.locator(".cag-execution-detail")
    form = detail.locator('[data-section="waiting-for-input"]')
    form.locator('[data-field="approved"]').check()
    form.locator('[data-field="review_notes"]').fill("ship it")
    form.locator('[data-action="resume"]').click()
    expect(detail.locator(".cag-facts .cag-badge")).to_have_text("Completed")
    expect(detail.locator('[data-role="timeline"] .cag-step-name')).to_contain_text(["review"])
    status, record = lab.api("GET", f"executions/{waiting['execution_id']}")
    assert status == 200 and record["status"] == "completed"
    assert record["outputs"]["approved"] is True and record["outputs"]["review_notes"] == "ship it"


def test_server_errors_and_network_failures_show_a_message(page: Any, lab: Lab, demo: dict[str, Any]) -> None:
    error = {"error": "StoreError", "message": "the database is locked; try again", "status": 503}
    page.route(re.compile(r".*/cagents/api/executions(\?.*)?$"),
               lambda route: route.fulfill(status=503, content_type="application/json", body=json.dumps(error)))
    sidebar = open_sidebar(page, lab)
    expect(sidebar.locator(".cag-error")).to_contain_text("Could not load executions: the database is locked; try again")
    page.unroute(re.compile(r".*/cagents/api/executions(\?.*)?$"))
    sidebar.locator(".cag-error button").click()
    expect(row(sidebar, demo["done"]["execution_id"])).to_be_visible()

    page.route(re.compile(r".*/cagents/api/executions/[^/?]+$"), lambda route: route.abort("connectionrefused"))
    row(sidebar, demo["done"]["execution_id"]).click()
    expect(sidebar.locator(".cag-execution-detail .cag-error")).to_contain_text("Cannot reach the Jupyter server")


def test_an_unknown_execution_says_so(page: Any, lab: Lab) -> None:
    sidebar = open_sidebar(page, lab)
    page.evaluate("void window.jupyterapp.commands.execute('cagents:open', {page: 'executions', target: 'no-such-id'})")
    expect(sidebar.locator(".cag-execution-detail .cag-error")).to_contain_text("no-such-id")


def test_the_panel_follows_the_dark_theme(page: Any, lab: Lab, demo: dict[str, Any]) -> None:
    sidebar = open_sidebar(page, lab)
    panel = sidebar.locator(".cag-panel.cag-executions")
    expect(row(sidebar, demo["done"]["execution_id"])).to_be_visible()
    light = panel.evaluate("el => getComputedStyle(el).backgroundColor")
    page.evaluate("void window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    expect(panel).not_to_have_css("background-color", light)
    dark = panel.evaluate("el => getComputedStyle(el).backgroundColor")
    channels = [int(c) for c in re.findall(r"\d+", dark)[:3]]
    assert sum(channels) / 3 < 100, dark
    page.evaluate("void window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")


KERNEL_IDLE = """() => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = widget && widget.sessionContext && widget.sessionContext.session && widget.sessionContext.session.kernel;
  return Boolean(kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle');
}"""


def test_the_same_panel_renders_in_a_notebook_and_the_sidebar_outlives_the_kernel(
    page: Any, lab: Lab, demo: dict[str, Any]
) -> None:
    cells = ["from cagents.jupyter.widgets import ExecutionsWidget\nw = ExecutionsWidget()\nw"]
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
                   "source": source} for i, source in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (lab.root / "panel.ipynb").write_text(json.dumps(notebook))
    page.goto(lab.lab_url("lab/tree/panel.ipynb"))
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    page.evaluate("void window.jupyterapp.commands.execute('notebook:run-all-cells')")
    output = page.locator(".jp-OutputArea .cag-panel")
    done = row(output, demo["done"]["execution_id"])
    expect(done).to_be_visible(timeout=30_000)
    done.click()
    expect(output.locator('.cag-execution-detail [data-role="timeline"] .cag-step')).to_have_count(2)

    page.evaluate("window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    page.evaluate("void window.jupyterapp.commands.execute('cagents:open', {page: 'executions', target: ''})")
    sidebar = page.locator("#cagents-sidebar")
    sidebar.locator('[data-action="refresh"]').click()
    expect(row(sidebar, demo["done"]["execution_id"])).to_be_visible()
    expect(sidebar.locator(".cag-error")).to_have_count(0)
