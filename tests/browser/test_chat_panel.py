"""The Chat panel in a real JupyterLab and Chromium, against the real assistant routes (the
offline drafter answers: no API key here): describe a workflow, see its diagram and YAML,
say yes, approve, execute it (followed to the end), deploy it as a local service that shows
under Deployments; errors and injected markup show as text.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from browser._lab import Lab, missing, open_sidebar

try:
    from playwright.sync_api import expect
except ImportError:
    missing("the playwright package is not installed (pip install playwright)")

XSS = '<img src=x onerror="window.__cagentsXss=1"><script>window.__cagentsXss=2</script>'
#: A turn of the offline drafter, a run of its workflow, a local service's start.
SLOW_MS = 90_000


def open_chat(page: Any, lab: Lab) -> Any:
    sidebar = open_sidebar(page, lab)
    sidebar.locator('.cag-sidebar-tab[data-page="chat"]').click()
    chat = sidebar.locator(".cag-chat")
    expect(chat.locator('[data-input="message"]')).to_be_visible(timeout=30_000)
    return chat


def say(chat: Any, text: str) -> None:
    count = chat.locator(".cag-msg-assistant").count()
    chat.locator('[data-input="message"]').fill(text)
    chat.locator('[data-input="message"]').press("Enter")
    expect(chat.locator(".cag-msg-assistant")).to_have_count(count + 1, timeout=SLOW_MS)
    expect(chat.locator('[data-input="message"]')).to_be_enabled(timeout=SLOW_MS)


def session_of(chat: Any) -> str:
    value = chat.locator('[data-input="session"]').input_value()
    assert value and value != "__new__"
    return str(value)


def test_describe_approve_execute_and_deploy(page: Any, lab: Lab) -> None:
    chat = open_chat(page, lab)
    expect(chat.locator('.cag-msg[data-kind="welcome"]')).to_be_visible()
    expect(chat.locator('[data-section="workflow"]')).to_have_attribute("data-state", "none")
    expect(chat.locator('[data-action="execute"]')).to_be_disabled()

    say(chat, "Research a topic and write a short article about it.")
    workflow = chat.locator('[data-section="workflow"]')
    expect(workflow).to_have_attribute("data-state", "draft")
    expect(chat.locator('[data-role="stage"]')).to_have_text("Draft: does it match?")
    # The diagram is drawn by JupyterLab's own Mermaid renderer, as an SVG in the page.
    diagram = workflow.locator(".cag-diagram")
    expect(diagram).to_have_attribute("data-drawn", "mermaid", timeout=30_000)
    expect(diagram.locator("svg, img").first).to_be_visible()
    workflow.locator('.cag-segment[data-view="yaml"]').click()
    expect(workflow.locator(".cag-yaml")).to_contain_text("nodes:")
    expect(diagram).to_be_hidden()
    session_id = session_of(chat)

    say(chat, "yes")
    expect(chat.locator('[data-role="cost"]')).to_contain_text("Cost estimate")
    chat.locator('[data-action="approve"]').click()
    expect(workflow).to_have_attribute("data-state", "final")
    expect(chat.locator('[data-action="execute"]')).to_be_enabled()
    status, stored = lab.api("GET", f"chat/sessions/{session_id}")
    assert status == 200 and stored["status"] == "completed" and stored["generated_config"]

    chat.locator('[data-action="execute"]').click()
    run = page.locator('dialog[data-modal="chat-execute"]')
    required = run.locator("input.cag-input[data-input]").first
    required.fill("owls")
    run.locator('[data-action="run"]').click()
    expect(run.locator('[data-role="status"]')).to_have_text("completed", timeout=SLOW_MS)
    execution_id = run.locator(".cag-result-head code").text_content()
    status, record = lab.api("GET", f"executions/{execution_id}")
    assert status == 200 and record["status"] == "completed"
    run.locator('[data-action="view-execution"]').click()
    expect(run).to_have_count(0)
    expect(page.locator("#cagents-sidebar .cag-execution-detail")).to_have_attribute("data-execution-id", execution_id or "")

    page.locator('#cagents-sidebar .cag-sidebar-tab[data-page="chat"]').click()
    expect(chat.locator('.cag-msg[data-kind="execution_result"]')).to_be_visible(timeout=SLOW_MS)

    chat.locator('[data-action="deploy"]').click()
    deploy = page.locator('dialog[data-modal="chat-deploy"]')
    deploy.locator('[data-input="name"]').fill("Article writer")
    deploy.locator('[data-action="deploy"]').click()
    deployed = deploy.locator('[data-role="deployment"]')
    expect(deployed).to_be_visible(timeout=SLOW_MS)
    deployment_id = deployed.text_content() or ""
    try:
        deploy.locator('[data-action="view-deployment"]').click()
        row = page.locator(f'#cagents-sidebar tr.cag-drow[data-deployment-id="{deployment_id}"]')
        expect(row.locator(".cag-badge")).to_have_text("Healthy")
        expect(row).to_have_class(re.compile("cag-focused"))
        expect(row.locator(".cag-deployment-name")).to_have_text("Article writer")
    finally:
        lab.cagents("deployments", "stop", deployment_id, check=False)


def test_markup_in_a_message_is_shown_as_text(page: Any, lab: Lab) -> None:
    chat = open_chat(page, lab)
    say(chat, f"What can you do? {XSS}")
    expect(chat.locator(".cag-msg-user").last).to_contain_text(XSS)
    assert chat.locator("script, [onerror]").count() == 0
    # The only images are drawn diagrams (SVG data), never the message's own <img>.
    sources = chat.locator("img").evaluate_all("els => els.map(el => el.getAttribute('src') || '')")
    assert all(src.startswith("data:image/svg+xml") for src in sources), sources
    assert page.evaluate("() => window.__cagentsXss") is None


def test_server_errors_and_network_failures_show_a_message(page: Any, lab: Lab) -> None:
    turn = re.compile(r".*/cagents/api/chat/sessions/[^/]+/turn$")
    chat = open_chat(page, lab)
    error = {"error": "LLMError", "message": "the model could not be reached: connection refused"}
    stream = "event: error\ndata: " + json.dumps(error) + "\n\nevent: end\ndata: {}\n\n"
    page.route(turn, lambda route: route.fulfill(status=200, content_type="text/event-stream", body=stream))
    chat.locator('[data-input="message"]').fill("Summarise a web page")
    chat.locator('[data-action="send"]').click()
    expect(chat.locator(".cag-msg-error")).to_contain_text("the model could not be reached")
    page.unroute(turn)

    page.route(turn, lambda route: route.abort("connectionrefused"))
    chat.locator('[data-input="message"]').fill("Summarise a web page")
    chat.locator('[data-action="send"]').click()
    expect(chat.locator(".cag-msg-error").last).to_contain_text("Cannot reach the Jupyter server")
    expect(chat.locator('[data-input="message"]')).to_have_value("Summarise a web page")
    page.unroute(turn)

    sessions = re.compile(r".*/cagents/api/chat/sessions(\?.*)?$")
    page.route(sessions, lambda route: route.fulfill(status=503, content_type="application/json", body=json.dumps(
        {"error": "StoreError", "message": "the database is locked; try again", "status": 503})))
    chat.locator('[data-action="new-chat"]').click()
    expect(chat.locator(".cag-error")).to_contain_text("Could not start a conversation: the database is locked")
