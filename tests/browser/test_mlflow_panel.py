"""The MLflow panel in a real JupyterLab and Chromium: the MLflow UI that the workbench serves,
embedded in the sidebar and as a main-area tab; the card with a link for a remote tracking
server; and a message (never a blank panel) when something fails.
"""

from __future__ import annotations

import json
import re
from typing import Any

from browser._lab import Lab, missing, open_sidebar

try:
    from playwright.sync_api import expect
except ImportError:
    missing("the playwright package is not installed (pip install playwright)")

#: The workbench starts `mlflow server` on the first request to its proxy.
MLFLOW_START_MS = 120_000
INFO = re.compile(r".*/cagents/api/info$")


def open_mlflow(page: Any, lab: Lab) -> Any:
    sidebar = open_sidebar(page, lab)
    sidebar.locator('.cag-sidebar-tab[data-page="mlflow"]').click()
    return sidebar.locator(".cag-mlflow")


def info_with(page: Any, lab: Lab, **mlflow: Any) -> None:
    """Answer `GET info` with these MLflow settings (as another server configuration would)."""
    status, info = lab.api("GET", "info")
    assert status == 200
    info["mlflow"] = {**info["mlflow"], **mlflow}
    page.route(INFO, lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(info)))


def test_the_served_mlflow_ui_is_embedded_and_opens_as_a_tab(page: Any, lab: Lab) -> None:
    panel = open_mlflow(page, lab)
    expect(panel.locator('[data-role="note"]')).to_contain_text("Tracing is off (CAGENTS_TRACING=off)")
    frame = panel.locator("iframe.cag-mlflow-frame")
    expect(frame).to_have_attribute("src", re.compile(r"^http://127\.0\.0\.1:\d+/cagents/mlflow/$"), timeout=MLFLOW_START_MS)
    expect(frame).to_be_visible(timeout=MLFLOW_START_MS)
    expect(page.frame_locator("#cagents-sidebar iframe.cag-mlflow-frame").locator("body")).to_contain_text(
        "MLflow", timeout=60_000)
    expect(panel.locator('[data-action="open-window"]')).to_have_attribute("href", re.compile(r"/cagents/mlflow/$"))

    panel.locator('[data-action="open-tab"]').click()
    tab = page.locator(".cag-main-page.cag-mlflow")
    expect(tab.locator("iframe.cag-mlflow-frame")).to_be_visible(timeout=60_000)
    expect(tab.locator('[data-action="open-tab"]')).to_have_count(0)
    expect(page.locator(".lm-TabBar-tabLabel", has_text="cagents MLflow")).to_have_count(1)
    page.evaluate("void window.jupyterapp.commands.execute('cagents:open-main', {page: 'mlflow'})")
    expect(page.locator(".lm-TabBar-tabLabel", has_text="cagents MLflow")).to_have_count(1)
    box = tab.locator("iframe.cag-mlflow-frame").bounding_box()
    assert box is not None and box["height"] > 500, box


def test_a_remote_tracking_server_gets_a_card_with_its_link(page: Any, lab: Lab) -> None:
    info_with(page, lab, mode="external", ui_url="https://mlflow.example.org:5000", enabled=True)
    panel = open_mlflow(page, lab)
    expect(panel.locator('[data-role="url"]')).to_have_text("https://mlflow.example.org:5000")
    link = panel.locator('[data-action="open-external"]')
    expect(link).to_have_attribute("href", "https://mlflow.example.org:5000")
    expect(link).to_have_attribute("target", "_blank")
    expect(panel.locator("iframe")).to_have_count(0)


def test_without_the_mlflow_ui_package_the_panel_says_what_to_install(page: Any, lab: Lab) -> None:
    info_with(page, lab, mode="embedded", ui_installed=False)
    panel = open_mlflow(page, lab)
    expect(panel.locator(".cag-mlflow-card")).to_contain_text("pip install 'cagents[mlflow]'")


def test_server_errors_and_network_failures_show_a_message(page: Any, lab: Lab) -> None:
    error = {"error": "StoreError", "message": "the database is locked; try again", "status": 503}
    page.route(INFO, lambda route: route.fulfill(status=503, content_type="application/json", body=json.dumps(error)))
    panel = open_mlflow(page, lab)
    expect(panel.locator(".cag-error")).to_contain_text("Could not read the MLflow settings: the database is locked")
    page.unroute(INFO)
    page.route(INFO, lambda route: route.abort("connectionrefused"))
    panel.locator(".cag-error button").click()
    expect(panel.locator(".cag-error")).to_contain_text("Cannot reach the Jupyter server")
    page.unroute(INFO)

    proxy = re.compile(r".*/cagents/mlflow/$")
    page.route(proxy, lambda route: route.fulfill(status=503, content_type="application/json", body=json.dumps(
        {"error": "the MLflow server could not be started: port 5000 is taken"})))
    panel.locator(".cag-error button").click()
    expect(panel.locator(".cag-error")).to_contain_text("Could not open the MLflow UI: the MLflow server could not be started")
    expect(panel.locator("iframe.cag-mlflow-frame")).to_be_hidden()
