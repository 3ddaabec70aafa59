"""The served app of one workflow, on a real uvicorn server, called with real HTTP requests."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy.helpers import eventually

from cagents.app import Workbench
from cagents.deploy.serve_main import ServerThread
from cagents.deploy.settings import ServiceConfig
from cagents.errors import CagentsError, DeploymentError


def executions(home: Path) -> list[Any]:
    with Workbench.open(home) as workbench:
        return workbench.db.executions.list().items


def test_health_schema_and_docs(serve: Any, triage_file: Path) -> None:
    service = serve(triage_file, deployment_id="triage-1", name="Triage bot")
    health = httpx.get(service.url + "/health").json()
    assert health["status"] == "ok"
    assert (health["workflow"], health["deployment_id"], health["name"]) == ("triage", "triage-1", "Triage bot")
    assert health["registered"] is None  # no workbench to register with

    schema = httpx.get(service.url + "/schema").json()
    assert schema["workflow"] == "triage"
    assert schema["input_schema"]["required"] == ["ticket"]
    assert set(schema["output_schema"]["properties"]) >= {"score", "reply"}
    assert schema["env"][0]["names"] == ["OPENAI_API_KEY"] and schema["env"][0]["set"] is False

    openapi = httpx.get(service.url + "/openapi.json").json()
    body = openapi["paths"]["/execute"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["inputs"]["properties"]["ticket"] == {"type": "string"}
    assert {"/health", "/schema", "/execute", "/executions/{execution_id}"} <= set(openapi["paths"])
    docs = httpx.get(service.url + "/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_execute_runs_and_records_with_the_deployment_id(serve: Any, triage_file: Path, tmp_path: Path) -> None:
    service = serve(triage_file, deployment_id="triage-1", home=tmp_path / "svc")
    reply = httpx.post(service.url + "/execute", json={"inputs": {"ticket": "printer on fire"}})
    assert reply.status_code == 200
    result = reply.json()
    assert result["status"] == "completed" and result["deployment_id"] == "triage-1"
    assert result["outputs"]["ticket"] == "printer on fire" and isinstance(result["outputs"]["reply"], str)
    assert result["simulated"] is True

    shown = httpx.get(f"{service.url}/executions/{result['execution_id']}").json()
    assert shown["status"] == "completed" and shown["outputs"] == result["outputs"]
    assert shown["total_tokens"] == result["total_tokens"] > 0
    service.stop()
    (row,) = executions(tmp_path / "svc")
    assert (row.id, row.deployment_id, row.status) == (result["execution_id"], "triage-1", "completed")


def test_inputs_are_coerced_like_a_form_sends_them(serve: Any, triage_file: Path) -> None:
    service = serve(triage_file)
    reply = httpx.post(service.url + "/execute", json={"inputs": {"ticket": "x", "priority": "3"}})
    assert reply.status_code == 200 and reply.json()["outputs"]["priority"] == 3


@pytest.mark.parametrize(
    ("body", "loc", "words"),
    [
        ({"inputs": {}}, ["body", "inputs", "ticket"], "required"),
        ({"inputs": {"ticket": "x", "tickt": "y"}}, ["body", "inputs", "tickt"], "did you mean `ticket`"),
        ({"inputs": {"ticket": "x", "priority": "high"}}, ["body", "inputs", "priority"], "int"),
        ({"inputs": ["x"]}, ["body", "inputs"], "dictionary"),
        ({"inputs": {"ticket": "x"}, "env": {"KEY": 1}}, ["body", "env", "KEY"], "string"),
        ({"inputs": {"ticket": "x"}, "input": {}}, ["body", "input"], "not permitted"),
        ({"inputs": {"ticket": "x"}, "async": "yes"}, ["body", "async"], "boolean"),
        ([1, 2], ["body"], "dictionary"),
    ],
)
def test_invalid_requests_are_422_with_field_errors(
    serve: Any, triage_file: Path, tmp_path: Path, body: Any, loc: list[str], words: str
) -> None:
    service = serve(triage_file, home=tmp_path / "svc")
    reply = httpx.post(service.url + "/execute", json=body)
    assert reply.status_code == 422
    detail = reply.json()["detail"]
    found = [item for item in detail if item["loc"] == loc]
    assert found, detail
    assert words in found[0]["msg"]
    service.stop()
    assert executions(tmp_path / "svc") == []  # nothing ran


def test_a_body_that_is_not_json_is_422(serve: Any, triage_file: Path) -> None:
    service = serve(triage_file)
    reply = httpx.post(service.url + "/execute", content=b"{ticket: x", headers={"Content-Type": "application/json"})
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["type"] == "json_invalid"
    assert httpx.post(service.url + "/execute").status_code == 422


def test_input_error_names_every_field_and_says_it_in_a_message(serve: Any, triage_file: Path) -> None:
    service = serve(triage_file)
    reply = httpx.post(service.url + "/execute", json={"inputs": {"score": "many"}})
    body = reply.json()
    assert {tuple(item["loc"]) for item in body["detail"]} == {
        ("body", "inputs", "ticket"), ("body", "inputs", "score")}
    assert body["message"].startswith("invalid inputs:")


def test_a_token_protects_everything_but_health_and_docs(serve: Any, triage_file: Path) -> None:
    service = serve(triage_file, token="s3cret-token")
    run = {"inputs": {"ticket": "x"}}
    missing = httpx.post(service.url + "/execute", json=run)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer" in missing.json()["detail"]
    wrong = httpx.post(service.url + "/execute", json=run, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert httpx.get(service.url + "/schema").status_code == 401
    assert httpx.get(service.url + "/executions/anything").status_code == 401
    assert httpx.get(service.url + "/health").status_code == 200
    assert httpx.get(service.url + "/openapi.json").status_code == 200
    good = httpx.post(service.url + "/execute", json=run, headers={"Authorization": "Bearer s3cret-token"})
    assert good.status_code == 200 and good.json()["status"] == "completed"


def test_async_execute_answers_202_and_runs_once(serve: Any, hold_file: Path, tmp_path: Path) -> None:
    from deploy import helpers

    service = serve(hold_file, home=tmp_path / "svc")
    reply = httpx.post(service.url + "/execute?async=true", json={"inputs": {"value": "v1"}})
    assert reply.status_code == 202
    execution_id = reply.json()["execution_id"]
    assert reply.headers["Location"] == f"/executions/{execution_id}" == reply.json()["url"]
    running = httpx.get(service.url + reply.headers["Location"]).json()
    assert running["status"] in ("pending", "running")

    helpers.GATE.set()
    done = eventually(lambda: (r := httpx.get(service.url + f"/executions/{execution_id}").json())["status"]
                      == "completed" and r)
    assert done["outputs"]["echoed"] == "v1"
    service.stop()
    assert helpers.CALLS == ["v1"]
    assert [row.id for row in executions(tmp_path / "svc")] == [execution_id]


def test_async_in_the_body_as_the_workbench_sends_it(serve: Any, triage_file: Path) -> None:
    service = serve(triage_file)
    reply = httpx.post(service.url + "/execute", json={"inputs": {"ticket": "x"}, "async": True})
    assert reply.status_code == 202


def test_a_slow_sync_run_answers_202_and_is_never_run_twice(serve: Any, hold_file: Path, tmp_path: Path) -> None:
    from deploy import helpers

    service = serve(hold_file, home=tmp_path / "svc", timeout=0.2)
    reply = httpx.post(service.url + "/execute", json={"inputs": {"value": "slow"}})
    assert reply.status_code == 202
    execution_id = reply.json()["execution_id"]
    # A client retrying with the same idempotency key gets the same execution, not a new run.
    first = httpx.post(service.url + "/execute", json={"inputs": {"value": "k"}}, headers={"Idempotency-Key": "a"})
    again = httpx.post(service.url + "/execute", json={"inputs": {"value": "k"}}, headers={"Idempotency-Key": "a"})
    assert first.json()["execution_id"] == again.json()["execution_id"] != execution_id

    helpers.GATE.set()
    eventually(lambda: httpx.get(service.url + f"/executions/{execution_id}").json()["status"] == "completed")
    repeated = httpx.post(service.url + "/execute", json={"inputs": {"value": "k"}}, headers={"Idempotency-Key": "a"})
    assert repeated.status_code == 200 and repeated.json()["execution_id"] == first.json()["execution_id"]
    service.stop()
    assert sorted(helpers.CALLS) == ["k", "slow"]
    assert len(executions(tmp_path / "svc")) == 2


def test_unknown_execution_is_404(serve: Any, triage_file: Path) -> None:
    service = serve(triage_file)
    reply = httpx.get(service.url + "/executions/nope")
    assert reply.status_code == 404 and "nope" in reply.json()["detail"]


def test_stopping_cancels_runs_still_going_after_the_grace_period(
    serve: Any, hold_file: Path, tmp_path: Path
) -> None:
    service = serve(hold_file, home=tmp_path / "svc", grace=0.1)
    execution_id = httpx.post(service.url + "/execute?async=true", json={"inputs": {"value": "v"}}).json()[
        "execution_id"]
    eventually(lambda: httpx.get(service.url + f"/executions/{execution_id}").json()["status"] == "running")
    service.stop()
    (row,) = executions(tmp_path / "svc")
    assert (row.id, row.status) == (execution_id, "cancelled")


def test_stopping_lets_running_executions_finish_within_the_grace_period(
    serve: Any, hold_file: Path, tmp_path: Path
) -> None:
    from deploy import helpers

    service = serve(hold_file, home=tmp_path / "svc", grace=60)
    execution_id = httpx.post(service.url + "/execute?async=true", json={"inputs": {"value": "v"}}).json()[
        "execution_id"]
    eventually(lambda: helpers.CALLS)
    stopping = threading.Thread(target=service.stop)
    stopping.start()
    eventually(lambda: service.app.state.service.closing)  # no longer listening, the run goes on
    helpers.GATE.set()
    stopping.join()
    (row,) = executions(tmp_path / "svc")
    assert (row.id, row.status, row.outputs["echoed"]) == (execution_id, "completed", "v")


def test_a_port_in_use_is_a_clear_error(triage_file: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(DeploymentError, match=f"port {port} on 127.0.0.1 is already in use"):
            ServerThread.for_service(ServiceConfig(str(triage_file), port=port))
    finally:
        taken.close()


def test_an_invalid_workflow_or_id_fails_before_serving(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text('schema_version: "1.0"\nflow: {name: x}\nnodez: []\n', encoding="utf-8")
    with pytest.raises(CagentsError, match="bad.yaml"):
        ServerThread.for_service(ServiceConfig(str(bad), port=0))
    with pytest.raises(CagentsError, match="cannot be used"):
        ServiceConfig(str(bad), deployment_id="a/b")
