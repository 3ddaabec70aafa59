"""The `process` target: a real `cagents serve` subprocess, started, used, stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy.helpers import eventually

from cagents.app import Workbench
from cagents.app.recovery import pid_alive
from cagents.deploy import local
from cagents.deploy.process_target import ProcessTarget
from cagents.deploy.target import get_target
from cagents.errors import DeploymentError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def deploy(path: Path, deployment_id: str, **options: Any) -> Any:
    values: dict[str, Any] = {"name": deployment_id, "host": "127.0.0.1", "port": free_port(), "env": {},
                              "dashboard_url": None, "token": None}
    values.update(options)
    return ProcessTarget().deploy(path, deployment_id=deployment_id, **values)


def test_deploy_execute_stop_leaves_no_process(triage_file: Path) -> None:
    target = get_target("process")
    record = deploy(triage_file, "proc-1")
    try:
        assert record.target == "process" and record.url == f"http://127.0.0.1:{record.port}"
        assert pid_alive(record.pid) and target.running(record)
        health = httpx.get(record.url + "/health").json()
        assert (health["status"], health["deployment_id"]) == ("ok", "proc-1")
        result = httpx.post(record.url + "/execute", json={"inputs": {"ticket": "hello"}}).json()
        assert result["status"] == "completed" and result["deployment_id"] == "proc-1"
    finally:
        target.stop(record)
    assert not pid_alive(record.pid) and not target.running(record)
    with pytest.raises(httpx.ConnectError):
        httpx.get(record.url + "/health")
    log = target.logs(record)
    assert "serving workflow 'triage' as deployment 'proc-1'" in log
    assert "Application shutdown complete" in target.logs(record, 2) or "Finished server process" in log
    # The service kept its execution in its own home, under the workbench home.
    with Workbench.open(local.service_home("proc-1")) as workbench:
        (row,) = workbench.db.executions.list().items
    assert (row.id, row.deployment_id) == (result["execution_id"], "proc-1")
    target.stop(record)  # stopping again is harmless


def test_env_values_reach_the_service_at_run_time_and_are_not_kept(triage_file: Path) -> None:
    secret = "sk-test-not-a-real-key-123456"
    target = ProcessTarget()
    record = deploy(triage_file, "proc-env", env={"OPENAI_API_KEY": secret, "CAGENTS_SERVICE_TOKEN": "tok-1"})
    try:
        local.save(record)
        headers = {"Authorization": "Bearer tok-1"}
        assert httpx.get(record.url + "/schema").status_code == 401
        schema = httpx.get(record.url + "/schema", headers=headers).json()
        assert schema["env"][0] == {**schema["env"][0], "names": ["OPENAI_API_KEY"], "set": True}
    finally:
        target.stop(record)
    saved = (local.deployments_dir() / "proc-env.json").read_text()
    assert secret not in saved and "tok-1" not in saved
    assert json.loads(saved)["extra"]["env_names"] == ["CAGENTS_SERVICE_TOKEN", "OPENAI_API_KEY"]
    assert secret not in target.logs(record)


def test_a_port_in_use_is_refused_before_anything_starts(triage_file: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DeploymentError, match=f"port {port} on 127.0.0.1 is already in use.*--port"):
            deploy(triage_file, "proc-port", port=port)
    assert not local.log_path("proc-port").exists()


def test_a_service_that_cannot_start_says_why_with_its_log(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text('schema_version: "1.0"\nflow: {name: bad}\nnodez: []\n', encoding="utf-8")
    with pytest.raises(DeploymentError) as caught:
        deploy(bad, "proc-bad")
    message = str(caught.value)
    assert "exited with status 1 before it answered /health" in message
    assert "bad.yaml" in message and "nodez" in message  # the tail of its log


def test_a_killed_service_is_seen_as_not_running(triage_file: Path) -> None:
    target = ProcessTarget()
    record = deploy(triage_file, "proc-kill")
    os.killpg(record.pid, signal.SIGKILL)
    eventually(lambda: not target.running(record))
    target.stop(record)  # reaps it; no error
    assert not pid_alive(record.pid)
