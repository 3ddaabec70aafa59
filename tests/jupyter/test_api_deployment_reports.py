"""`POST deployments/{id}/executions`: deployed services report their executions to the workbench."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx

from cagents.deploy.serve_main import ServerThread
from cagents.deploy.settings import ServiceConfig

WORKFLOW = """\
schema_version: "1.0"
flow: {name: triage}
state:
  fields:
    ticket: {type: str, required: true}
    score: {type: int}
    reply: {type: str}
nodes:
  - {id: classify, prompt: "Classify {ticket}", outputs: [score]}
  - {id: answer, prompt: "Reply to {ticket}", outputs: [reply]}
edges:
  - {from: START, to: classify}
  - {from: classify, to: answer}
  - {from: answer, to: END}
"""


def _execution(**changes: Any) -> dict[str, Any]:
    return {"id": "exec-1", "workflow_name": "triage", "status": "running",
            "started_at": "2026-01-02T03:04:05+00:00", "inputs": {"ticket": "hi"},
            "config_snapshot": WORKFLOW, "config_hash": "abc", **changes}


def _state(step: int, node: str, **changes: Any) -> dict[str, Any]:
    return {"node_id": node, "step": step, "state_data": {"ticket": "hi", "step": step},
            "created_at": f"2026-01-02T03:04:0{5 + step}+00:00", "duration_seconds": 0.5, "tokens": 7,
            "cost_usd": 0.001, **changes}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _workbench(api: Any, runtime: Any) -> Any:
    return api.run(runtime.workbench())


def test_a_report_creates_then_updates_the_execution_with_its_states(api: Any, runtime: Any) -> None:
    workbench = _workbench(api, runtime)
    first = api("POST", "deployments/svc-1/executions", {"execution": _execution(), "states": [_state(1, "classify")]})
    assert first.code == 201, first.body
    assert first.json == {"execution_id": "exec-1", "deployment_id": "svc-1", "created": True, "states_added": 1,
                          "cancel_requested": False}
    row = workbench.db.executions.get("exec-1")
    assert (row.status, row.deployment_id, row.workflow_name, row.inputs) == ("running", "svc-1", "triage",
                                                                              {"ticket": "hi"})
    assert row.started_at.isoformat() == "2026-01-02T03:04:05"

    done = _execution(status="completed", outputs={"reply": "ok"}, completed_at="2026-01-02T03:04:09Z",
                      duration_seconds=4.0, total_tokens=14, total_cost_usd=0.002, simulated=True)
    again = api("POST", "deployments/svc-1/executions",
                {"execution": done, "states": [_state(1, "classify"), _state(2, "answer")]})
    assert again.code == 200, again.body
    assert again.json["created"] is False and again.json["states_added"] == 1
    row = workbench.db.executions.get("exec-1")
    assert (row.status, row.outputs, row.total_tokens, row.simulated) == ("completed", {"reply": "ok"}, 14, True)
    states = workbench.db.executions.states("exec-1")
    assert [(s.step, s.node_id, s.tokens) for s in states] == [(1, "classify", 7), (2, "answer", 7)]
    assert workbench.db.executions.summary().completed == 1

    # The same report once more (a retry after a lost answer) changes nothing.
    assert api("POST", "deployments/svc-1/executions", {"execution": done, "states": [_state(2, "answer")]}
               ).json["states_added"] == 0
    assert len(workbench.db.executions.states("exec-1")) == 2


def test_services_report_with_the_deployment_token(api: Any, runtime: Any) -> None:
    workbench = _workbench(api, runtime)
    token = runtime.deployment_token()
    reply = api.anonymous("POST", "deployments/svc-2/executions", {"execution": _execution(id="e2")},
                          headers=_bearer(token))
    assert reply.code == 201, reply.body
    assert workbench.db.executions.get("e2").deployment_id == "svc-2"
    wrong = api.anonymous("POST", "deployments/svc-2/executions", {"execution": _execution(id="e3")},
                          headers=_bearer(token + "x"))
    assert wrong.code == 403


def test_anonymous_and_browser_writes_without_xsrf_are_refused(api: Any) -> None:
    path = "deployments/svc-3/executions"
    assert api.anonymous("POST", path, {"execution": _execution(id="e4")}).code == 403
    cookies = api.browser_cookies()
    assert api.browser("POST", path, {"execution": _execution(id="e4")}, cookies=cookies, xsrf=None).code == 403
    accepted = api.browser("POST", path, {"execution": _execution(id="e4")}, cookies=cookies, xsrf="abc123")
    assert accepted.code == 201, accepted.body


def test_invalid_reports_name_the_field(api: Any) -> None:
    path = "deployments/svc-4/executions"
    cases = [
        ({}, "execution"),
        ({"execution": "x"}, "execution"),
        ({"execution": _execution(), "extra": 1}, "extra"),
        ({"execution": _execution(status="done")}, "execution.status"),
        ({"execution": _execution(started_at="yesterday")}, "execution.started_at"),
        ({"execution": _execution(total_tokens="many")}, "execution.total_tokens"),
        ({"execution": _execution(owner="me")}, "execution.owner"),
        ({"execution": {k: v for k, v in _execution().items() if k != "workflow_name"}}, "execution.workflow_name"),
        ({"execution": _execution(deployment_id="other")}, "execution.deployment_id"),
        ({"execution": _execution(), "states": {"a": 1}}, "states"),
        ({"execution": _execution(), "states": [{"step": 1, "state_data": {}}]}, "states[0].node_id"),
        ({"execution": _execution(), "states": [_state(1, "a", state_data=[1])]}, "states[0].state_data"),
    ]
    for body, field in cases:
        reply = api("POST", path, body)
        assert reply.code == 422, (body, reply.body)
        assert reply.json["field"] == field, (body, reply.json)
        assert field.split(".")[-1].split("[")[0] in reply.json["message"]
    assert "must be one of" in api("POST", path, {"execution": _execution(status="done")}).json["message"]


def test_an_execution_of_someone_else_cannot_be_overwritten(api: Any, runtime: Any) -> None:
    workbench = _workbench(api, runtime)
    assert api("POST", "deployments/svc-5/executions", {"execution": _execution(id="mine")}).code == 201
    taken = api("POST", "deployments/svc-6/executions", {"execution": _execution(id="mine", status="failed")})
    assert taken.code == 409
    assert "belongs to deployment 'svc-5'" in taken.json["message"]
    assert workbench.db.executions.get("mine").status == "running"


def test_a_report_for_an_unregistered_deployment_is_kept(api: Any, runtime: Any) -> None:
    # Its registration may have expired and been cleaned up: its executions still count.
    workbench = _workbench(api, runtime)
    assert workbench.db.deployments.list() == []
    assert api("POST", "deployments/gone-1/executions", {"execution": _execution(id="late")}).code == 201
    assert workbench.db.executions.get("late").deployment_id == "gone-1"


def test_unknown_routes_under_a_deployment_are_404(api: Any) -> None:
    assert api("POST", "deployments/svc-7/executions/extra", {}).code == 404


def test_a_real_service_registers_and_reports_into_jupyter(api: Any, runtime: Any, tmp_path: Path) -> None:
    """End to end: `cagents serve` registers with this Jupyter server and its runs land here."""
    workbench = _workbench(api, runtime)
    path = tmp_path / "triage.yaml"
    path.write_text(WORKFLOW, encoding="utf-8")
    config = ServiceConfig(str(path), port=0, deployment_id="jp-svc", dashboard_url=api.base_url,
                           deployment_token=runtime.deployment_token(), home=tmp_path / "svc")
    service = ServerThread.for_service(config)
    # The Jupyter server answers only while its loop runs: run it while waiting for the service.
    starting = threading.Thread(target=service.start)
    starting.start()
    while starting.is_alive() or not service.app.state.service.registration.registered:
        api.run(asyncio.sleep(0.02))
    result: dict[str, Any] = {}
    calling = threading.Thread(target=lambda: result.update(
        httpx.post(service.url + "/execute", json={"inputs": {"ticket": "hi"}}).json()))
    calling.start()
    while calling.is_alive():
        api.run(asyncio.sleep(0.02))
    stopping = threading.Thread(target=service.stop)  # sends what is still queued
    stopping.start()
    while stopping.is_alive():
        api.run(asyncio.sleep(0.02))

    (registered,) = workbench.db.deployments.list()
    assert (registered.deployment_id, registered.port) == ("jp-svc", service.port)
    row = workbench.db.executions.get(result["execution_id"])
    assert (row.deployment_id, row.status) == ("jp-svc", "completed")
    assert [s.node_id for s in workbench.db.executions.states(row.id)] == ["classify", "answer"]
    listed = api("GET", "executions", params={"deployment_id": "jp-svc"})
    if listed.code == 200:  # the Executions page's list filtered by deployment
        assert [item["id"] for item in listed.json["items"]] == [row.id]
