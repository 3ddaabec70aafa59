"""Starting a real `jupyter lab` for the browser tests, and the steps every test takes in it."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("CAGENTS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LABEXTENSION = Path(__file__).resolve().parents[2] / "src" / "cagents" / "labextension"
#: JupyterLab 4.6 shows a kernel dialog and a news toast without these, and nothing runs.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"autoStartDefaultKernel": True, "windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}
_SECRET_ENV = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY",
               "AZURE_OPENAI_API_KEY", "CAGENTS_LLM_BASE_URL", "CAGENTS_LLM_API_KEY", "MLFLOW_TRACKING_URI")


def missing(what: str) -> None:
    """In CI a missing prerequisite is a failure (a skip would hide a broken install step)."""
    if os.environ.get("CI"):
        pytest.fail(what, pytrace=False)
    pytest.skip(what, allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Lab:
    """A running `jupyter lab`: its URL and token, its workbench home and its log."""

    url: str
    token: str
    home: Path
    root: Path
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def lab_url(self, path: str = "lab") -> str:
        return f"{self.url}{path}?token={self.token}"

    def api(self, method: str, route: str, body: Any = None) -> tuple[int, Any]:
        """Call the REST API with the token (no browser); (status, decoded JSON)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}cagents/api/{route}", data=data, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read() or b"null")

    def cagents(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the `cagents` CLI against this lab's home (as a person in a terminal would)."""
        return subprocess.run([sys.executable, "-m", "cagents", *args], env=self.env, cwd=self.root,
                              capture_output=True, text=True, check=check, timeout=120)


def start_lab(base: Path, *, home: Path | None = None) -> Lab:
    """Start `jupyter lab` on a free port and wait until the cagents API answers."""
    if not (LABEXTENSION / "package.json").is_file() or not (LABEXTENSION / "panels" / "executions.js").is_file():
        missing(f"the labextension is not built in {LABEXTENSION}: run `cd labextension && jlpm install && jlpm build`")
    home = home or base / "home"
    root, settings, jupyter_path, runtime = (base / "root", base / "settings", base / "jupyter", base / "runtime")
    for folder in (home, root, jupyter_path / "labextensions", runtime):
        folder.mkdir(parents=True, exist_ok=True)
    for name, value in LAB_SETTINGS.items():
        target = settings / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    (jupyter_path / "labextensions" / "cagents").symlink_to(LABEXTENSION, target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if k not in _SECRET_ENV}
    env.update({
        "CAGENTS_HOME": str(home), "CAGENTS_TRACING": "off", "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTER_PATH": os.pathsep.join([str(jupyter_path), *filter(None, [os.environ.get("JUPYTER_PATH")])]),
        "JUPYTER_RUNTIME_DIR": str(runtime), "PYTHONUNBUFFERED": "1",
    })
    port, token = _free_port(), secrets.token_hex(16)
    log = base / "jupyter-lab.log"
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--allow-root",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
        "--ServerApp.jpserver_extensions=cagents.jupyter=True", "--ServerApp.port_retries=0",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    lab = Lab(f"http://127.0.0.1:{port}/", token, home, root, env, log, process)
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            status, _ = lab.api("GET", "health")
            if status == 200:
                return lab
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            stop_lab(lab)
            raise RuntimeError(f"jupyter lab did not answer in 90 s:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)


def stop_lab(lab: Lab) -> None:
    process = lab.process
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def open_sidebar(page: Any, lab: Lab) -> Any:
    """Open JupyterLab and the cagents sidebar; the sidebar's locator."""
    page.goto(lab.lab_url())
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands.hasCommand('cagents:open')")
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    page.evaluate("void window.jupyterapp.commands.execute('cagents:open', {page: 'executions'})")
    sidebar = page.locator("#cagents-sidebar")
    sidebar.wait_for(state="visible")
    return sidebar


FIRST_PAINT = """() => {
  const at = name => { const marks = performance.getEntriesByName(name, 'mark'); return marks.length ? marks[0].startTime : null; };
  const api = performance.getEntriesByType('resource')
    .filter(entry => /\\/cagents\\/api\\/executions(\\/summary)?\\?/.test(entry.name))
    .map(entry => ({url: entry.name, ms: entry.duration}));
  return {render: at('cagents-executions-render'), paint: at('cagents-executions-first-paint'), api};
}"""


def first_paint(page: Any, lab: Lab) -> dict[str, Any]:
    """Open JupyterLab fresh and time the Executions panel until its first rows are painted.

    `panel_ms`: from the panel's render() to the rows on screen (its two API calls, the DOM,
    a frame); `since_navigation_ms`: from the page's navigation start (JupyterLab's own load
    included); `api`: each list/summary call's time in the browser.
    """
    open_sidebar(page, lab)
    page.locator("#cagents-sidebar tr.cag-row").first.wait_for()
    page.wait_for_function("() => performance.getEntriesByName('cagents-executions-first-paint').length > 0")
    marks = page.evaluate(FIRST_PAINT)
    return {
        "panel_ms": round(marks["paint"] - marks["render"], 1),
        "since_navigation_ms": round(marks["paint"], 1),
        "api": marks["api"],
    }
