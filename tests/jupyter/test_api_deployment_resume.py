"""`POST executions/{id}/resume` of an execution a deployment reported: it goes on in that
service (not in the Jupyter server) and its end is reported back here."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from cagents.deploy.serve_main import ServerThread
from cagents.deploy.settings import ServiceConfig
from cagents.errors import NotFoundError

APPROVAL = """\
schema_version: "1.0"
flow: {name: approval}
state:
  fields:
    news: {type: str, required: true}
    post: {type: str}
    approved: {type: bool, default: false}
    notes: {type: str, default: ""}
    outcome: {type: str}
nodes:
  - {id: draft, prompt: "draft {news}", outputs: [post]}
  - {id: review, kind: human, prompt: "Approve? {post}", outputs: [approved, notes]}
  - {id: publish, prompt: "publish {post}", outputs: [outcome]}
edges:
  - {from: START, to: draft}
  - {from: draft, to: review}
  - {from: review, to: publish}
  - {from: publish, to: END}
"""


def _in_thread(api: Any, work: Callable[[], Any]) -> None:
    """Run `work` in a thread while the Jupyter server's loop runs (it answers only then)."""
    thread = threading.Thread(target=work)
    thread.start()
    while thread.is_alive():
        api.run(asyncio.sleep(0.02))


def _until(api: Any, check: Callable[[], Any]) -> Any:
    while not (value := check()):
        api.run(asyncio.sleep(0.02))
    return value


def _row(workbench: Any, execution_id: str) -> Any:
    try:
        return workbench.db.executions.get(execution_id)
    except NotFoundError:
        return None


def test_a_deployed_waiting_execution_is_resumed_on_its_service(api: Any, runtime: Any, tmp_path: Path) -> None:
    workbench = api.run(runtime.workbench())
    path = tmp_path / "approval.yaml"
    path.write_text(APPROVAL, encoding="utf-8")
    config = ServiceConfig(str(path), port=0, deployment_id="jp-approval", dashboard_url=api.base_url,
                           deployment_token=runtime.deployment_token(), home=tmp_path / "svc",
                           token="svc-token")
    service = ServerThread.for_service(config)
    _in_thread(api, service.start)
    try:
        _until(api, lambda: service.app.state.service.registration.registered)
        result: dict[str, Any] = {}
        _in_thread(api, lambda: result.update(httpx.post(
            service.url + "/execute", json={"inputs": {"news": "v2"}},
            headers={"Authorization": "Bearer svc-token"}).json()))
        execution_id = result["execution_id"]
        assert result["status"] == "waiting"
        _until(api, lambda: (row := _row(workbench, execution_id)) is not None and row.status == "waiting")

        wrong = api("POST", f"executions/{execution_id}/resume", {"values": {"approved": "perhaps"}})
        assert wrong.code == 422, wrong.body
        assert "approved" in wrong.json["message"] and "jp-approval" in wrong.json["message"]

        reply = api("POST", f"executions/{execution_id}/resume", {"values": {"approved": True, "notes": "go"}})
        assert reply.code == 202, reply.body
        assert reply.json["execution_id"] == execution_id and reply.json["deployment_id"] == "jp-approval"
        assert reply.json["events_url"].endswith(f"cagents/api/executions/{execution_id}/events")
        assert api.run(runtime.live()).get(execution_id) is None  # not run in the Jupyter server

        done = _until(api, lambda: (row := _row(workbench, execution_id)) is not None
                      and row.status == "completed" and row)
        assert (done.deployment_id, done.outputs["approved"], done.outputs["notes"]) == ("jp-approval", True, "go")
        assert done.outputs["outcome"]

        again = api("POST", f"executions/{execution_id}/resume", {"values": {"approved": True}})
        assert again.code == 409 and "is completed and cannot be resumed" in again.json["message"]
    finally:
        _in_thread(api, service.stop)


def test_an_execution_of_an_unregistered_deployment_is_refused(api: Any) -> None:
    report = {"execution": {"id": "gone-run", "workflow_name": "approval", "status": "waiting",
                            "started_at": "2026-01-02T03:04:05+00:00", "config_snapshot": APPROVAL}}
    assert api("POST", "deployments/gone-svc/executions", report).code == 201
    reply = api("POST", "executions/gone-run/resume", {"values": {"approved": True}})
    assert reply.code == 409, reply.body
    assert "deployment 'gone-svc', which is not registered here" in reply.json["message"]
    assert api("POST", "executions/no-such-run/resume", {"values": {}}).code == 404
    assert api.anonymous("POST", "executions/gone-run/resume", {"values": {}}).code == 403
