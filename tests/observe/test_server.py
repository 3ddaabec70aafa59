"""The managed MLflow server: starts, answers, serves traces over its REST API, comes back
after being killed, stops leaving no process; and `cagents mlflow` runs it from the shell.

Starting `mlflow server` takes ~15 s, so one server serves the module; the tests run in
file order and the last one stops it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import cagents
from cagents.errors import NotFoundError
from cagents.observe import (
    MlflowServer,
    MlflowServerError,
    ObserveSettings,
    experiment_url,
    find_experiment_id,
    find_trace_experiment_id,
    trace_url,
    tracer_for,
)
from support.llm_server import ScriptedLLMServer

from .conftest import MLFLOW_WARNINGS

pytestmark = [pytest.mark.filterwarnings(w) for w in MLFLOW_WARNINGS]

WORKFLOW = """
schema_version: "1.0"
flow: {name: served_flow}
state:
  fields:
    question: {type: str, required: true}
    answer: {type: str}
nodes:
  - {id: reply, prompt: "Answer: {question}", outputs: [answer]}
edges:
  - {from: START, to: reply}
  - {from: reply, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""


def _group(pgid: int) -> list[int]:
    """Live processes of a process group (zombies excluded)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


def _wait_for(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlflow-server-home")


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[MlflowServer]:
    settings = ObserveSettings.from_env(environ={"CAGENTS_HOME": str(home)})
    managed = MlflowServer(settings)
    managed.start()
    try:
        yield managed
    finally:
        managed.stop()


def test_starts_on_the_local_store_and_answers(server: MlflowServer, home: Path) -> None:
    assert server.managed and server.running
    assert server.url is not None and server.url.startswith("http://127.0.0.1:")
    assert server.is_healthy()
    assert httpx.get(f"{server.url}/health").text == "OK"
    page = httpx.get(f"{server.url}/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert (home / "mlflow.db").is_file()  # the store the tracer writes by default
    assert server.pid is not None and len(_group(server.pid)) >= 2  # the server and its worker
    assert server.start() == server.url  # already running: the same server


def test_serves_traces_sent_over_http(
    server: MlflowServer, llm_env: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert server.url is not None
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)  # as a deployed container would
    llm_env.reply(json={"answer": "over http"})
    workflow = cagents.load(textwrap.dedent(WORKFLOW))
    tracer = tracer_for(workflow)
    assert tracer is not None and tracer.settings.is_remote
    result = workflow.run({"question": "q"}, subscribers=[tracer])
    assert result.status == "completed"
    assert tracer.wait(120) and tracer.problem is None
    written = tracer.result()
    assert written is not None and written.trace_id and written.experiment_id

    info = httpx.get(f"{server.url}/api/3.0/mlflow/traces/{written.trace_id}").json()["trace"]["trace_info"]
    assert info["trace_id"] == written.trace_id
    assert info["tags"]["cagents.execution_id"] == result.execution_id

    assert find_trace_experiment_id(server.url, written.trace_id) == written.experiment_id
    assert find_experiment_id(server.url, "served_flow") == written.experiment_id
    with pytest.raises(NotFoundError):
        find_experiment_id(server.url, "no_such_workflow")
    link = trace_url(server.url, written.experiment_id, written.trace_id)
    assert link == (f"{server.url}/#/experiments/{written.experiment_id}/traces"
                    f"?selectedEvaluationId={written.trace_id}")
    assert httpx.get(link.split("#")[0]).status_code == 200


def test_deep_links() -> None:
    assert experiment_url("http://h:5000/", "12") == "http://h:5000/#/experiments/12/traces"
    assert trace_url("http://h:5000/proxy/mlflow", "12", "tr-abc") == \
        "http://h:5000/proxy/mlflow/#/experiments/12/traces?selectedEvaluationId=tr-abc"


def test_comes_back_after_being_killed(server: MlflowServer) -> None:
    old = server.pid
    assert old is not None
    old_group = _group(old)
    os.kill(old, signal.SIGKILL)  # the server alone: its worker is left behind
    assert _wait_for(lambda: server.restarts == 1 and server.is_healthy(), 180), server.problem
    assert server.pid != old
    assert _group(old) == [], f"left behind from {old_group}"


def test_stop_leaves_no_process(server: MlflowServer) -> None:
    pid, url = server.pid, server.url
    assert pid is not None and url is not None
    server.stop()
    assert _group(pid) == []
    assert not server.running and server.url is None
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/health", timeout=2)


def test_a_remote_tracking_server_is_not_started() -> None:
    settings = ObserveSettings.from_env(environ={"MLFLOW_TRACKING_URI": "https://mlflow.example.test/"})
    remote = MlflowServer(settings)
    assert not remote.managed
    assert remote.start() == "https://mlflow.example.test" == remote.url
    assert remote.pid is None and not remote.running
    remote.stop()


def test_a_busy_named_port_is_refused(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = ObserveSettings.from_env(environ={"CAGENTS_HOME": str(tmp_path)})
        with pytest.raises(MlflowServerError, match=f"port {port} .* is in use"):
            MlflowServer(settings, port=port).start()


def test_cli_runs_the_server_until_interrupted(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["CAGENTS_HOME"] = str(tmp_path)
    with subprocess.Popen([sys.executable, "-m", "cagents", "mlflow"], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as cli:
        try:
            assert cli.stdout is not None
            url = cli.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:"), url
            assert httpx.get(f"{url}/health").text == "OK"
            [leader] = [p for p in _group_leaders() if str(tmp_path) in _cmdline(p)]
            cli.send_signal(signal.SIGINT)
            _, err = cli.communicate(timeout=60)
            assert cli.returncode == 0, err
            assert "stopping mlflow server" in err
            assert _group(leader) == []
        finally:
            if cli.poll() is None:
                cli.kill()
                cli.communicate()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _group_leaders() -> list[int]:
    leaders = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == int(entry.name):
                leaders.append(int(entry.name))
    return leaders
