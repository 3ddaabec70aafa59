"""`cagents lab`: a real JupyterLab process with the workbench, its kernel and its errors."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from cagents.cli._app import build_parser
from cagents.cli.lab import jupyter_command
from cagents.jupyter.kernelspec import DISPLAY_NAME, KERNEL_NAME

pytestmark = pytest.mark.timeout(180)

TOKEN = "lab-test-token"
PROBE = """\
import json, os
from ipykernel.kernelapp import IPKernelApp
ip = get_ipython()
print(json.dumps({
    "extensions": list(IPKernelApp.instance().extra_extensions),
    "loaded": sorted(ip.extension_manager.loaded),
    "line_magic": "cagents" in ip.magics_manager.magics["line"],
    "cell_magic": "cagents" in ip.magics_manager.magics["cell"],
    "home": os.environ.get("CAGENTS_HOME"),
    "pid": os.getpid(),
}))
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cagents(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cagents", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60, check=False)


def _jupyter_env(tmp_path: Path) -> dict[str, str]:
    """The test's own home plus private Jupyter folders, so nothing of the developer's is read."""
    env = dict(os.environ)
    for name in ("config", "data", "runtime", "settings", "workspaces"):
        (tmp_path / "jupyter" / name).mkdir(parents=True)
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter" / "config"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter" / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter" / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "jupyter" / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "jupyter" / "workspaces"),
    )
    return env


class Lab:
    """A `cagents lab` subprocess and a token-authenticated client for it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.base = f"http://127.0.0.1:{port}"
        self.ws_base = f"ws://127.0.0.1:{port}"
        self.log = log
        self.client = AsyncHTTPClient()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def fetch(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request = HTTPRequest(
            self.base + path, method=method, headers={"Authorization": f"token {TOKEN}"},
            body=None if body is None else json.dumps(body), request_timeout=60,
        )
        try:
            reply = await self.client.fetch(request)
        except HTTPClientError as error:
            assert error.response is not None, error
            reply = error.response
        text = reply.body.decode() if reply.body else ""
        return reply.code, json.loads(text) if text.strip().startswith(("{", "[")) else text

    async def wait_ready(self) -> None:
        """Until the workbench answers; a process that dies on the way fails with its log."""
        while True:
            assert self.process.poll() is None, f"cagents lab exited early:\n{self.output()}"
            try:
                code, _ = await self.fetch("GET", "/cagents/api/health")
            except (ConnectionError, OSError):
                code = 0
            if code == 200:
                return
            await asyncio.sleep(0.2)

    async def execute(self, kernel_id: str, code: str) -> str:
        """Run `code` in the kernel over the server's websocket; returns its stdout."""
        request = HTTPRequest(f"{self.ws_base}/api/kernels/{kernel_id}/channels",
                              headers={"Authorization": f"token {TOKEN}"})
        socket_ = await websocket_connect(request)
        msg_id = uuid.uuid4().hex
        socket_.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        stdout, errors = [], []
        try:
            while True:
                raw = await socket_.read_message()
                assert raw is not None, "the kernel websocket closed"
                message = json.loads(raw)
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = message["msg_type"], message["content"]
                if kind == "stream" and content["name"] == "stdout":
                    stdout.append(content["text"])
                elif kind == "error":
                    errors.append("\n".join(content["traceback"]))
                elif kind == "status" and content["execution_state"] == "idle":
                    break
        finally:
            socket_.close()
        assert not errors, errors
        return "".join(stdout)


@pytest.fixture
def lab(tmp_path: Path) -> Any:
    root = tmp_path / "root"
    root.mkdir()
    port = _free_port()
    log = tmp_path / "lab.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "cagents", "lab", "--no-browser", "--port", str(port), "--",
             f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={TOKEN}"],
            stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, env=_jupyter_env(tmp_path),
        )
    server = Lab(process, port, log)
    try:
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


async def test_lab_serves_the_workbench_and_its_kernel_loads_the_magics(lab: Lab) -> None:
    home = Path(os.environ["CAGENTS_HOME"])
    await lab.wait_ready()
    assert (home / "configurable_agents.db").is_file()  # the extension opened the workbench's database

    code, specs = await lab.fetch("GET", "/api/kernelspecs")
    assert code == 200
    assert specs["default"] == KERNEL_NAME
    spec = specs["kernelspecs"][KERNEL_NAME]["spec"]
    assert spec["display_name"] == DISPLAY_NAME
    assert spec["argv"][-1] == "--ext=cagents"
    assert (home / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json").is_file()

    code, kernel = await lab.fetch("POST", "/api/kernels", {})  # the default kernel
    assert code == 201, kernel
    assert kernel["name"] == KERNEL_NAME
    probe = json.loads(await lab.execute(kernel["id"], PROBE))
    assert probe["extensions"] == ["cagents"]
    assert probe["home"] == str(home)
    assert "cagents" in probe["loaded"]
    assert probe["line_magic"] and probe["cell_magic"]

    lab.process.send_signal(signal.SIGINT)
    assert await asyncio.to_thread(lab.process.wait, 60) == 0, lab.output()
    assert await _gone(probe["pid"]), "stopping the server left its kernel running"


async def _gone(pid: int) -> bool:
    """The kernel process ended (the server shuts its kernels down as it stops)."""
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        await asyncio.sleep(0.1)
    return False


def test_lab_without_jupyterlab_names_the_install_command() -> None:
    result = subprocess.run(
        [sys.executable, "-c",
         ("import sys; sys.modules['jupyterlab'] = None\n"
          "from cagents.cli import main; raise SystemExit(main(['lab', '--no-browser']))")],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "cagents: error: `cagents lab` needs jupyterlab, not installed here; "
        "install with pip install 'cagents[lab]'"
    )
    assert "Traceback" not in result.stderr


def test_lab_on_a_port_in_use_says_so() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _cagents("lab", "--no-browser", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"cagents: error: port {port} on 127.0.0.1 is already in use; choose another with --port, "
        "or leave --port out to take the next free one"
    )


def test_lab_refuses_a_port_out_of_range() -> None:
    result = _cagents("lab", "--port", "70000")
    assert result.returncode == 1
    assert "--port 70000 is not a port number" in result.stderr


def test_jupyter_command_keeps_the_users_options_last() -> None:
    args = build_parser().parse_args(["lab", "--port", "8890", "--ip", "0.0.0.0", "--no-browser", "--",
                                      "--ServerApp.root_dir=/srv", "notebook.ipynb"])
    command = jupyter_command(args)
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--ServerApp.jpserver_extensions=cagents.jupyter=True" in command
    assert "--ServerApp.ip=0.0.0.0" in command
    assert "--ServerApp.port=8890" in command and "--ServerApp.port_retries=0" in command
    assert "--ServerApp.open_browser=False" in command
    assert command[-2:] == ["--ServerApp.root_dir=/srv", "notebook.ipynb"]
    assert ("--allow-root" in command) == (os.geteuid() == 0)


def test_kernelspec_installs_into_an_environment(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cagents.jupyter.kernelspec", "install", "--prefix", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "share" / "jupyter" / "kernels" / KERNEL_NAME
    spec = json.loads((folder / "kernel.json").read_text(encoding="utf-8"))
    assert spec["argv"] == [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                            "--ext=cagents"]
    assert spec["display_name"] == DISPLAY_NAME
    assert (folder / "logo-64x64.png").is_file()
