"""A notebook in a real JupyterLab and Chromium: `%%cagents` and `%cagents run` with the live
progress view reaching "completed", the panels in notebook outputs, and Insert (a `%%cagents`
cell below) from a panel in an output and from the sidebar.

The chat's assistant runs on its offline drafter (no API key here), through the real routes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from browser._lab import Lab, missing

try:
    from playwright.sync_api import expect
except ImportError:
    missing("the playwright package is not installed (pip install playwright)")

HELLO = """\
schema_version: "1.0"
flow:
  name: hello_notebook
state:
  fields:
    topic: {type: str, required: true}
    notes: {type: str}
nodes:
  - id: research
    prompt: "List three facts about {topic}."
    outputs: [notes]
edges:
  - {from: START, to: research}
  - {from: research, to: END}
"""

KERNEL_IDLE = """() => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = widget && widget.sessionContext && widget.sessionContext.session && widget.sessionContext.session.kernel;
  return Boolean(kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle');
}"""

SOURCES = """() => window.jupyterapp.shell.currentWidget.content.widgets.map(cell => cell.model.sharedModel.getSource())"""


def write_notebook(lab: Lab, name: str, cells: list[str]) -> None:
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
                   "source": source} for i, source in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (lab.root / name).write_text(json.dumps(notebook))


def open_notebook(page: Any, lab: Lab, name: str) -> None:
    page.goto(lab.lab_url(f"lab/tree/{name}") + "&reset")  # no notebook of an earlier test restored
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)


def run_all(page: Any) -> None:
    page.evaluate("void window.jupyterapp.commands.execute('notebook:run-all-cells')")


def test_a_cagents_cell_runs_with_live_progress_to_completed(page: Any, lab: Lab) -> None:
    write_notebook(lab, "run.ipynb", ["%load_ext cagents", f"%%cagents hello\n{HELLO}",
                                      "%cagents run hello --input topic=owls", "%cagents deployments"])
    open_notebook(page, lab, "run.ipynb")
    run_all(page)
    progress = page.locator(".jp-OutputArea .cagents-progress")
    expect(progress).to_contain_text("hello_notebook · ✓ completed", timeout=60_000)
    expect(progress.locator("td", has_text="research")).to_be_visible()
    expect(progress).to_contain_text("✓ done")
    status, page_of_runs = lab.api("GET", "executions", None)
    assert status == 200
    assert any(row["workflow_name"] == "hello_notebook" and row["status"] == "completed" for row in page_of_runs["items"])

    # `%cagents deployments` shows the live panel (the widget), not only its HTML fallback.
    panel = page.locator(".jp-OutputArea .cag-panel.cag-deployments")
    expect(panel.locator(".cag-empty")).to_contain_text("No deployments registered.", timeout=30_000)


def test_a_panel_in_an_output_inserts_a_cell_below_its_own_cell(page: Any, lab: Lab) -> None:
    write_notebook(lab, "insert.ipynb", ["%load_ext cagents", "%cagents deployments", "print('last')"])
    open_notebook(page, lab, "insert.ipynb")
    run_all(page)
    panel = page.locator(".jp-OutputArea .cag-panel.cag-deployments")
    expect(panel.locator(".cag-empty")).to_be_visible(timeout=30_000)
    # What every panel's Insert does: a bubbling `cagents:insert-cell` event from inside the output.
    handled = panel.evaluate("""el => new Promise((resolve, reject) => {
      const event = new CustomEvent('cagents:insert-cell', {bubbles: true, cancelable: true, detail: {
        yaml: 'flow:\\n  name: inserted\\n', name: 'inserted',
        done: error => error ? reject(error) : resolve(event.defaultPrevented)}});
      el.dispatchEvent(event);
    })""")
    assert handled is True
    sources = page.evaluate(SOURCES)
    assert sources[2] == "%%cagents inserted\nflow:\n  name: inserted\n", sources
    assert sources[1] == "%cagents deployments" and sources[3] == "print('last')"


def test_insert_from_the_chat_in_an_output_and_from_the_sidebar(page: Any, lab: Lab) -> None:
    write_notebook(lab, "chat.ipynb", ["%load_ext cagents", "%cagents chat", "print('after the chat')"])
    open_notebook(page, lab, "chat.ipynb")
    run_all(page)
    chat = page.locator(".jp-OutputArea .cag-panel.cag-chat")
    expect(chat.locator('.cag-msg[data-kind="welcome"]')).to_be_visible(timeout=30_000)
    chat.locator('[data-input="message"]').fill("Research a topic and write a short article about it.")
    chat.locator('[data-action="send"]').click()
    expect(chat.locator('[data-section="workflow"]')).to_have_attribute("data-state", "draft", timeout=60_000)
    yaml_text = chat.locator(".cag-yaml").text_content()
    assert yaml_text and "nodes:" in yaml_text
    chat.locator('[data-action="insert"]').click()
    expect(chat.locator(".cag-chat-status")).to_contain_text("Inserted a %%cagents cell")
    sources = page.evaluate(SOURCES)
    assert sources[1] == "%cagents chat" and sources[2].startswith("%%cagents ") and sources[3] == "print('after the chat')"
    assert sources[2].split("\n", 1)[1].strip() == yaml_text.strip()

    # The sidebar's chat shows the same conversation; its Insert goes below the active cell.
    page.evaluate("() => { const nb = window.jupyterapp.shell.currentWidget.content; nb.activeCellIndex = 0; }")
    page.evaluate("void window.jupyterapp.commands.execute('cagents:open', {page: 'chat'})")
    sidebar = page.locator("#cagents-sidebar .cag-chat")
    expect(sidebar.locator('[data-section="workflow"]')).to_have_attribute("data-state", "draft", timeout=30_000)
    sidebar.locator('[data-action="insert"]').click()
    expect(sidebar.locator(".cag-chat-status")).to_contain_text("Inserted a %%cagents cell")
    sources = page.evaluate(SOURCES)
    assert sources[0] == "%load_ext cagents" and sources[1].startswith("%%cagents ") and len(sources) == 5

    # The inserted cell is a working workflow definition.
    page.evaluate("""() => { const nb = window.jupyterapp.shell.currentWidget.content; nb.activeCellIndex = 1; }""")
    page.evaluate("void window.jupyterapp.commands.execute('notebook:run-cell')")
    cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
    expect(cell.locator(".jp-OutputArea")).to_contain_text("node", timeout=30_000)
    expect(cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")).to_have_count(0)


def test_insert_from_the_sidebar_without_a_notebook_says_so(page: Any, lab: Lab) -> None:
    page.goto(lab.lab_url("lab/workspaces/no-notebooks"))  # a workspace without the earlier tests' notebooks
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands.hasCommand('cagents:open')")
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    page.evaluate("void window.jupyterapp.commands.execute('cagents:open', {page: 'chat'})")
    chat = page.locator("#cagents-sidebar .cag-chat")
    chat.locator('[data-action="new-chat"]').click()
    expect(chat.locator('.cag-msg[data-kind="welcome"]')).to_have_count(1, timeout=30_000)
    expect(chat.locator(".cag-msg")).to_have_count(1)  # the new conversation, not an earlier test's
    chat.locator('[data-input="message"]').fill("Summarise a web page in three bullet points.")
    chat.locator('[data-action="send"]').click()
    expect(chat.locator('[data-section="workflow"]')).to_have_attribute("data-state", "draft", timeout=60_000)
    chat.locator('[data-action="insert"]').click()
    expect(chat.locator(".cag-chat-status")).to_contain_text("No notebook is open")
