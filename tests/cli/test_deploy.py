"""`cagents deploy`, `cagents deployments ...` and `cagents serve` end to end, with real processes."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cagents.app import Workbench
from cagents.app.recovery import pid_alive
from cagents.cli import main
from cagents.deploy import local


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main(list(argv)) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


@pytest.fixture(autouse=True)
def _stop_what_was_deployed() -> Iterator[None]:
    yield
    from cagents.deploy.target import get_target

    for record in local.load_all():
        get_target(record.target).stop(record)


@pytest.fixture
def registry_process(tmp_path: Path) -> Iterator[str]:
    """`cagents deployments start` on a free port of this test's home; its URL."""
    process = subprocess.Popen([sys.executable, "-m", "cagents", "deployments", "start", "--port", "0"],
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert process.stderr is not None
    url = None
    for line in process.stderr:
        found = re.search(r"CAGENTS_DASHBOARD_URL=(\S+)", line)
        if found:
            url = found.group(1)
            break
    assert url, "the registry did not start"
    home = Path(os.environ["CAGENTS_HOME"])
    while not (home / "registry.json").exists():  # written once the app started
        pass
    try:
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait()
        process.stderr.close()
    assert not (home / "registry.json").exists()


def test_deploy_process_json_then_list_logs_and_stop(valid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    deployed = cli_json(capsys, "deploy", valid_file, "--target", "process", "--name", "triage-bot", "--json")
    deployment_id, url = deployed["deployment_id"], deployed["url"]
    assert deployment_id.startswith("triage-bot-") and deployed["target"] == "process"
    assert deployed["registered_with"] is None
    assert httpx.get(url + "/health").json()["deployment_id"] == deployment_id
    assert httpx.post(url + "/execute", json={"inputs": {"ticket": "hi"}}).json()["status"] == "completed"

    listed = cli_json(capsys, "deployments", "list", "--json")
    (row,) = listed["items"]
    assert row["deployment_id"] == deployment_id and row["health"] == "not registered"
    assert row["local"]["running"] is True and row["local"]["pid"] == deployed["pid"]

    assert main(["deployments", "logs", deployment_id, "--tail", "50"]) == 0
    assert f"as deployment '{deployment_id}'" in capsys.readouterr().out

    assert main(["deployments", "stop", deployment_id]) == 0
    assert f"stopped {deployment_id}" in capsys.readouterr().out
    assert not pid_alive(deployed["pid"])
    assert local.load_all() == []


def test_deploy_prints_id_and_url(valid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", valid_file, "--target", "process", "--id", "my-triage", "--port", "0"]) == 0
    out, err = capsys.readouterr()
    deployment_id, url = out.split()
    assert deployment_id == "my-triage" and url.startswith("http://127.0.0.1:")
    assert "not registered with a workbench" in err


def test_without_a_docker_engine_auto_deploys_a_process(
    valid_file: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    assert main(["deploy", valid_file, "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["target"] == "process"
    assert f"deploying as a local process (no Docker engine at unix://{tmp_path}/no-docker.sock" in err
    assert httpx.get(json.loads(out)["url"] + "/health").status_code == 200


def test_deploy_registers_with_a_running_registry_and_reports(
    valid_file: str, registry_process: str, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed = cli_json(capsys, "deploy", valid_file, "--target", "process", "--json", "-e", "TEAM_NAME=support")
    assert deployed["registered_with"] == registry_process  # found through registry.json
    deployment_id = deployed["deployment_id"]

    def health() -> str:
        rows = cli_json(capsys, "deployments", "list", "--json")["items"]
        return rows[0]["health"] if rows else ""

    while health() != "ok":
        pass
    result = httpx.post(deployed["url"] + "/execute", json={"inputs": {"ticket": "hello"}}).json()
    assert main(["deployments", "stop", deployment_id]) == 0  # its reports are sent before it exits
    capsys.readouterr()
    with Workbench.open() as workbench:
        row = workbench.db.executions.get(result["execution_id"])
        assert (row.deployment_id, row.status) == (deployment_id, "completed")
        assert len(workbench.db.executions.states(row.id)) >= 1
        assert workbench.db.deployments.list() == []  # stop deregistered it


def test_a_dead_deployment_is_shown_dead_and_cleaned_up(valid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    deployed = cli_json(capsys, "deploy", valid_file, "--target", "process", "--json")
    with Workbench.open() as workbench:  # registered, but its heartbeat TTL long gone
        workbench.db.deployments.register(deployment_id="old-one", deployment_name="old", workflow_name="w",
                                          host="127.0.0.1", port=9, ttl_seconds=1)
    connection = sqlite3.connect(Path(os.environ["CAGENTS_HOME"]) / "configurable_agents.db")
    with connection:
        connection.execute("UPDATE deployments SET last_heartbeat = '2000-01-01 00:00:00.000000'")
    connection.close()
    os.killpg(deployed["pid"], signal.SIGKILL)
    while local.process_alive(local.load(deployed["deployment_id"])):
        pass
    rows = {row["deployment_id"]: row for row in cli_json(capsys, "deployments", "list", "--json")["items"]}
    assert rows[deployed["deployment_id"]]["health"] == "dead"
    assert rows[deployed["deployment_id"]]["local"]["running"] is False
    assert main(["deployments", "list"]) == 0
    table = capsys.readouterr().out
    assert re.search(rf"^DEAD\s+{deployed['deployment_id']}", table, re.MULTILINE)
    assert re.search(r"^DEAD\s+old-one\s+old\s+w\s+127.0.0.1:9", table, re.MULTILINE)

    assert main(["deployments", "cleanup"]) == 0
    out = capsys.readouterr().out
    assert "1 expired registrations (old-one)" in out and deployed["deployment_id"] in out
    assert cli_json(capsys, "deployments", "list", "--json")["items"] == []


def test_unknown_ids_and_bad_options_are_clear_errors(
    valid_file: str, invalid_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deployments", "stop", "nope"]) == 1
    assert "no deployment 'nope' was deployed from this machine" in capsys.readouterr().err
    assert main(["deployments", "logs", "nope"]) == 1
    capsys.readouterr()
    assert main(["deploy", invalid_file]) == 1
    assert "bad.yaml" in capsys.readouterr().err
    assert main(["deploy", valid_file, "--env", "NOVALUE"]) == 1
    assert "--env expects NAME=VALUE" in capsys.readouterr().err
    assert main(["deploy", valid_file, "--id", "a/b"]) == 1
    assert "cannot be used" in capsys.readouterr().err
    assert local.load_all() == []


def test_env_file_values_are_read(tmp_path: Path) -> None:
    from cagents.cli.deploy import parse_env

    env_file = tmp_path / ".env"
    env_file.write_text("# keys\nexport OPENAI_API_KEY='sk-a'\nOTHER=\"two words\"\n\n", encoding="utf-8")
    assert parse_env(["OTHER=three"], str(env_file)) == {"OPENAI_API_KEY": "sk-a", "OTHER": "three"}


def test_serve_reports_a_port_in_use(valid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", valid_file, "--port", str(port)]) == 1
    assert f"port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err
