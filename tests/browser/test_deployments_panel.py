"""The Deployments panel in a real JupyterLab and Chromium: register a running service by hand,
read its schema, execute on it, deregister it, clean up dead ones; errors show in the panel.

The deployed service is a real HTTP server on 127.0.0.1 (`tests/support/deployment_server.py`);
what it received is checked as well as what the page shows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from browser._lab import Lab, missing, open_sidebar
from support.deployment_server import DeploymentServer, closed_port

try:
    from playwright.sync_api import expect
except ImportError:
    missing("the playwright package is not installed (pip install playwright)")

XSS_NAME = '<img src=x onerror="window.__cagentsXss=1"><script>window.__cagentsXss=2</script>'


@pytest.fixture(scope="module")
def service() -> Iterator[DeploymentServer]:
    server = DeploymentServer(workflow="greet").start()
    try:
        yield server
    finally:
        server.stop()


def open_deployments(page: Any, lab: Lab) -> Any:
    """The sidebar at its Deployments page, loaded."""
    sidebar = open_sidebar(page, lab)
    sidebar.locator('.cag-sidebar-tab[data-page="deployments"]').click()
    panel = sidebar.locator(".cag-deployments")
    expect(panel.locator(".cag-loading")).to_have_count(0)
    return panel


def register(lab: Lab, deployment_id: str, name: str, port: int, **extra: Any) -> dict[str, Any]:
    status, body = lab.api("POST", "deployments", {
        "deployment_id": deployment_id, "deployment_name": name, "workflow_name": "greet",
        "host": "127.0.0.1", "port": port, **extra})
    assert status == 201, body
    return body  # type: ignore[no-any-return]


def row(panel: Any, deployment_id: str) -> Any:
    return panel.locator(f'tr.cag-drow[data-deployment-id="{deployment_id}"]')


def test_register_by_hand_then_schema_execute_and_deregister(page: Any, lab: Lab, service: DeploymentServer) -> None:
    panel = open_deployments(page, lab)
    expect(panel.locator(".cag-empty")).to_contain_text("No deployments registered.")

    panel.locator('.cag-header [data-action="register"]').click()
    modal = page.locator('dialog[data-modal="register"]')
    modal.locator('[data-input="deployment_id"]').fill("greeter-1")
    modal.locator('[data-input="deployment_name"]').fill("Greeter")
    modal.locator('[data-input="workflow_name"]').fill("greet")
    expect(modal.locator('[data-input="host"]')).to_have_value("127.0.0.1")
    modal.locator('[data-input="port"]').fill(str(service.port))
    expect(modal.locator('[data-input="check_health"]')).to_be_checked()
    modal.locator('[data-action="register"]').click()
    expect(modal).to_have_count(0)

    greeter = row(panel, "greeter-1")
    expect(greeter.locator(".cag-badge")).to_have_text("Healthy")
    expect(greeter.locator(".cag-deployment-name")).to_have_text("Greeter")
    expect(greeter.locator(".cag-dcol-address")).to_have_text(f"127.0.0.1:{service.port}")
    expect(greeter.locator('[data-role="heartbeat"]')).to_have_text(re.compile(r"^\d+s ago$"))
    expect(greeter.locator('[data-role="registered"]')).to_have_text("just now")
    expect(greeter.locator('[data-action="docs"]')).to_have_attribute("href", f"http://127.0.0.1:{service.port}/docs")
    expect(panel.locator('[data-summary="healthy"] .cag-summary-value')).to_have_text("1")
    assert any((r.method, r.path) == ("GET", "/health") for r in service.requests)
    status, stored = lab.api("GET", "deployments/greeter-1")
    assert status == 200 and stored["deployment_name"] == "Greeter" and stored["port"] == service.port

    greeter.locator('[data-action="schema"]').click()
    schema = page.locator('dialog[data-modal="schema"]')
    expect(schema.locator('tr[data-field="name"]')).to_contain_text("string")
    expect(schema.locator('tr[data-field="times"]')).to_contain_text("integer")
    expect(schema.locator('tr[data-field="greeting"]')).to_be_visible()
    schema.locator('[data-action="close"]').click()
    expect(schema).to_have_count(0)

    greeter.locator('[data-action="execute"]').click()
    execute = page.locator('dialog[data-modal="execute"]')
    expect(execute.locator("label", has_text="name (string, required)")).to_be_visible()
    expect(execute.locator("label", has_text="times (integer, optional)")).to_be_visible()
    execute.locator('[data-action="execute"]').click()
    expect(execute.locator('[data-problem="name"]')).to_have_text("Required.")
    assert not service.executions()
    execute.locator('[data-input="name"]').fill("Ada")
    execute.locator('[data-input="times"]').fill("0")
    execute.locator('[data-env="dotenv"]').fill("# keys\nexport OPENAI_API_KEY='sk-test-123'\n")
    execute.locator('[data-action="execute"]').click()
    expect(execute.locator('[data-problem="times"]')).to_contain_text("less than the minimum of 1")
    execute.locator('[data-input="times"]').fill("2")
    execute.locator('[data-action="execute"]').click()
    expect(execute.locator('[data-role="status"]')).to_have_text("completed")
    expect(execute.locator('[data-role="outputs"]')).to_contain_text("Hello Ada Hello Ada")
    sent = service.executions()[-1].body
    assert sent == {"inputs": {"name": "Ada", "times": 2}, "env": {"OPENAI_API_KEY": "sk-test-123"}}
    execute.locator('[data-action="cancel"]').click()

    greeter.locator('[data-action="deregister"]').click()
    page.locator('dialog[data-modal="deregister"] [data-action="confirm-deregister"]').click()
    expect(row(panel, "greeter-1")).to_have_count(0)
    expect(panel.locator(".cag-banner")).to_contain_text("Deregistered Greeter")
    assert lab.api("GET", "deployments/greeter-1")[0] == 404


def test_register_checks_health_first_and_says_why_it_failed(page: Any, lab: Lab, service: DeploymentServer) -> None:
    panel = open_deployments(page, lab)
    panel.locator('.cag-header [data-action="register"]').click()
    modal = page.locator('dialog[data-modal="register"]')
    for field, value in (("deployment_id", "nowhere"), ("deployment_name", "Nowhere"), ("workflow_name", "greet"),
                         ("port", str(closed_port()))):
        modal.locator(f'[data-input="{field}"]').fill(value)
    modal.locator('[data-action="register"]').click()
    expect(modal.locator(".cag-modal-message")).to_contain_text("cannot be reached")
    assert lab.api("GET", "deployments/nowhere")[0] == 404

    modal.locator('[data-input="port"]').fill("70000")
    modal.locator('[data-action="register"]').click()
    expect(modal.locator('[data-problem="port"]')).to_have_text("A whole number from 1 to 65535.")
    modal.locator('[data-input="port"]').fill(str(service.port))
    modal.locator('[data-input="host"]').fill("http://127.0.0.1")
    modal.locator('[data-action="register"]').click()
    expect(modal.locator('[data-problem="host"]')).to_contain_text("bare host name")
    modal.locator('[data-action="cancel"]').click()
    expect(modal).to_have_count(0)


def test_a_dead_deployment_is_marked_and_cleaned_up(page: Any, lab: Lab, service: DeploymentServer) -> None:
    register(lab, "short-lived", "Short lived", service.port, ttl_seconds=1)
    register(lab, "steady", "Steady", service.port)
    panel = open_deployments(page, lab)
    expect(row(panel, "short-lived").locator(".cag-badge")).to_have_text("Dead")
    expect(row(panel, "steady").locator(".cag-badge")).to_have_text("Healthy")
    expect(panel.locator('[data-summary="dead"] .cag-summary-value')).to_have_text("1")

    row(panel, "short-lived").locator('[data-action="execute"]').click()
    execute = page.locator('dialog[data-modal="execute"]')
    expect(execute.locator(".cag-dead-warning")).to_contain_text("looks dead")
    execute.locator('[data-input="name"]').fill("Bo")
    execute.locator('[data-action="execute"]').click()
    expect(execute.locator(".cag-modal-message")).to_contain_text("last heartbeat")
    execute.locator('[data-input="force"]').check()
    execute.locator('[data-action="execute"]').click()
    expect(execute.locator('[data-role="outputs"]')).to_contain_text("Hello Bo")
    execute.locator('[data-action="cancel"]').click()

    panel.locator('[data-action="cleanup"]').click()
    expect(panel.locator(".cag-banner")).to_contain_text("Removed 1 expired: short-lived")
    expect(row(panel, "short-lived")).to_have_count(0)
    expect(row(panel, "steady")).to_be_visible()
    assert lab.api("GET", "deployments/short-lived")[0] == 404
    assert lab.api("DELETE", "deployments/steady")[0] == 200


def test_a_script_in_a_deployment_name_is_shown_as_text(page: Any, lab: Lab, service: DeploymentServer) -> None:
    register(lab, "xss", XSS_NAME, service.port)
    try:
        panel = open_deployments(page, lab)
        expect(row(panel, "xss").locator(".cag-deployment-name")).to_have_text(XSS_NAME)
        row(panel, "xss").locator('[data-action="execute"]').click()
        expect(page.locator('dialog[data-modal="execute"] .cag-modal-title')).to_have_text(f"Execute on: {XSS_NAME}")
        assert page.locator(".cag-deployments img, .cag-deployments script, dialog img").count() == 0
        assert page.evaluate("() => window.__cagentsXss") is None
    finally:
        lab.api("DELETE", "deployments/xss")


def test_server_errors_and_network_failures_show_a_message(page: Any, lab: Lab, service: DeploymentServer) -> None:
    error = {"error": "StoreError", "message": "the database is locked; try again", "status": 503}
    listing = re.compile(r".*/cagents/api/deployments(\?.*)?$")
    page.route(listing, lambda route: route.fulfill(status=503, content_type="application/json", body=json.dumps(error)))
    sidebar = open_sidebar(page, lab)
    sidebar.locator('.cag-sidebar-tab[data-page="deployments"]').click()
    panel = sidebar.locator(".cag-deployments")
    expect(panel.locator(".cag-error")).to_contain_text("Could not load deployments: the database is locked; try again")
    page.unroute(listing)
    register(lab, "flaky", "Flaky", service.port)
    try:
        panel.locator(".cag-error button").click()
        expect(row(panel, "flaky")).to_be_visible()

        page.route(re.compile(r".*/cagents/api/deployments/flaky/execute$"), lambda route: route.abort("connectionrefused"))
        row(panel, "flaky").locator('[data-action="execute"]').click()
        execute = page.locator('dialog[data-modal="execute"]')
        execute.locator('[data-input="name"]').fill("Cy")
        execute.locator('[data-action="execute"]').click()
        expect(execute.locator(".cag-modal-message")).to_contain_text("Cannot reach the Jupyter server")
        execute.locator('[data-action="cancel"]').click()

        service.healthy = False
        page.route(re.compile(r".*/cagents/api/deployments/flaky/schema$"), lambda route: route.fulfill(
            status=502, content_type="application/json",
            body=json.dumps({"error": "DeploymentError", "message": "the service at 127.0.0.1 cannot be reached", "status": 502})))
        row(panel, "flaky").locator('[data-action="schema"]').click()
        expect(page.locator('dialog[data-modal="schema"] .cag-error')).to_contain_text("cannot be reached")
    finally:
        service.healthy = True
        lab.api("DELETE", "deployments/flaky")


def test_the_panel_and_its_dialogs_follow_the_dark_theme(page: Any, lab: Lab) -> None:
    panel = open_deployments(page, lab)
    page.evaluate("void window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    try:
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
        panel.locator('.cag-header [data-action="register"]').click()
        dialog = page.locator('dialog[data-modal="register"]')
        for element in (panel, dialog):
            colour = element.evaluate("el => getComputedStyle(el).backgroundColor")
            channels = [int(c) for c in re.findall(r"\d+", colour)[:3]]
            assert sum(channels) / 3 < 100, colour
        dialog.locator('[data-action="cancel"]').click()
    finally:
        page.evaluate("void window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
