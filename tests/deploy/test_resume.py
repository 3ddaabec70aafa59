"""`POST /executions/{id}/resume` of a service: a person answers a waiting run, which goes on
in the service and is reported to the workbench like any other change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from app.dbview import APPROVAL
from deploy.helpers import eventually

from cagents.app import Workbench
from cagents.errors import NotFoundError


@pytest.fixture
def approval_file(tmp_path: Path) -> Path:
    path = tmp_path / "approval.yaml"
    path.write_text(APPROVAL, encoding="utf-8")
    return path


def row(home: Path, execution_id: str) -> Any:
    """The execution's row in that workbench; None until it is there."""
    with Workbench.open(home) as workbench:
        try:
            return workbench.db.executions.get(execution_id)
        except NotFoundError:
            return None


def waiting_run(service: Any, **headers: str) -> str:
    reply = httpx.post(service.url + "/execute", json={"inputs": {"news": "we shipped"}}, headers=headers)
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "waiting"
    return reply.json()["execution_id"]  # type: ignore[no-any-return]


def test_a_waiting_run_is_answered_in_the_service_and_reported(
    serve: Any, approval_file: Path, registry: Any, tmp_path: Path
) -> None:
    service = serve(approval_file, deployment_id="approval-1", dashboard_url=registry.url,
                    deployment_token=registry.token, home=tmp_path / "svc")
    execution_id = waiting_run(service)
    reported = eventually(lambda: (r := row(registry.home, execution_id)) is not None and r.status == "waiting" and r)
    assert reported.deployment_id == "approval-1" and reported.waiting_for["node_id"] == "review"

    reply = httpx.post(f"{service.url}/executions/{execution_id}/resume",
                       json={"values": {"approved": True, "notes": "fine"}})
    assert reply.status_code == 202, reply.text
    assert reply.json()["execution_id"] == execution_id and reply.json()["status"] == "running"

    shown = eventually(lambda: (r := httpx.get(f"{service.url}/executions/{execution_id}").json())
                       ["status"] == "completed" and r)
    assert shown["outputs"]["approved"] is True and shown["outputs"]["notes"] == "fine"
    assert shown["waiting_for"] is None
    here = eventually(lambda: (r := row(registry.home, execution_id)) is not None and r.status == "completed" and r)
    assert (here.outputs["approved"], here.outputs["notes"]) == (True, "fine")
    assert here.outputs["outcome"] and here.waiting_for is None
    with Workbench.open(registry.home) as workbench:
        nodes = [state.node_id for state in workbench.db.executions.states(execution_id)]
    assert nodes[-2:] == ["review", "publish"]

    again = httpx.post(f"{service.url}/executions/{execution_id}/resume", json={"values": {"approved": True}})
    assert again.status_code == 409
    assert "is completed and cannot be resumed" in again.json()["detail"]


def test_values_that_do_not_fit_are_422_and_the_run_keeps_waiting(
    serve: Any, approval_file: Path, tmp_path: Path
) -> None:
    service = serve(approval_file, home=tmp_path / "svc", token="svc-token")
    auth = {"Authorization": "Bearer svc-token"}
    execution_id = waiting_run(service, **auth)
    url = f"{service.url}/executions/{execution_id}/resume"

    assert httpx.post(url, json={"values": {"approved": True}}).status_code == 401
    wrong = httpx.post(url, json={"values": {"approved": "perhaps", "note": "x"}}, headers=auth)
    assert wrong.status_code == 422, wrong.text
    body = wrong.json()
    assert {tuple(item["loc"]) for item in body["detail"]} >= {
        ("body", "values", "approved"), ("body", "values", "note")}
    assert "not an output of `review`" in body["message"]
    assert row(tmp_path / "svc", execution_id).status == "waiting"

    unanswered = httpx.post(url, json={}, headers=auth)
    assert unanswered.status_code == 409 and "waits for input at node `review`" in unanswered.json()["detail"]
    for bad, loc in (({"values": [1]}, ["body", "values"]), ({"value": {}}, ["body", "value"]),
                     ({"values": {}, "env": {"K": 1}}, ["body", "env", "K"])):
        refused = httpx.post(url, json=bad, headers=auth)
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == loc, refused.text
    unknown = httpx.post(f"{service.url}/executions/nope/resume", json={"values": {}}, headers=auth)
    assert unknown.status_code == 404 and "no execution with id 'nope'" in unknown.json()["detail"]

    ok = httpx.post(url, json={"values": {"approved": False, "notes": "too early"}}, headers=auth)
    assert ok.status_code == 202, ok.text
    service.stop()  # waits for the resumed run
    done = row(tmp_path / "svc", execution_id)
    assert (done.status, done.outputs["approved"], done.outputs["notes"]) == ("completed", False, "too early")
