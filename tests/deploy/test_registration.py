"""A service registers with a real workbench registry, keeps registered, and reports its runs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy.helpers import eventually

from cagents.app import Workbench, run_workflow
from cagents.deploy.reporter import Reporter


def registered(registry: Any, deployment_id: str) -> Any:
    with registry.workbench() as workbench:
        found = [d for d in workbench.db.deployments.list() if d.deployment_id == deployment_id]
    return found[0] if found else None


def test_a_service_registers_itself_with_what_the_page_shows(serve: Any, triage_file: Path, registry: Any) -> None:
    service = serve(triage_file, deployment_id="triage-a", name="Triage A", dashboard_url=registry.url,
                    deployment_token=registry.token, ttl_seconds=30, token="svc-token")
    record = eventually(lambda: registered(registry, "triage-a"))
    assert (record.deployment_name, record.workflow_name) == ("Triage A", "triage")
    assert (record.host, record.port, record.ttl_seconds) == ("127.0.0.1", service.port, 30)
    assert record.is_alive
    assert record.capabilities["async"] is True and record.capabilities["env"] == ["OPENAI_API_KEY"]
    assert record.deployment_metadata["url"] == service.url
    assert record.deployment_metadata["api_token"] == "svc-token"  # so the workbench can call it
    listed = httpx.get(registry.url + "/cagents/api/deployments",
                       headers={"Authorization": f"Bearer {registry.token}"}).json()
    assert listed["items"][0]["deployment_metadata"]["api_token"] == "[hidden]"
    assert httpx.get(service.url + "/health").json()["registered"] is True


def test_heartbeats_keep_it_alive_and_it_registers_again_when_removed(
    serve: Any, triage_file: Path, registry: Any
) -> None:
    service = serve(triage_file, deployment_id="triage-b", dashboard_url=registry.url,
                    deployment_token=registry.token, ttl_seconds=1)
    first = eventually(lambda: registered(registry, "triage-b"))
    registration = service.app.state.service.registration
    assert registration.interval == pytest.approx(1 / 3)
    eventually(lambda: registration.heartbeats >= 2)
    later = registered(registry, "triage-b")
    assert later.last_heartbeat > first.last_heartbeat and later.registered_at == first.registered_at

    with registry.workbench() as workbench:
        workbench.db.deployments.deregister("triage-b")
    eventually(lambda: registration.registrations >= 2 and registered(registry, "triage-b"))


def test_a_wrong_deployment_token_is_refused_and_said_so(
    serve: Any, triage_file: Path, registry: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "cagents.deploy")
    service = serve(triage_file, deployment_id="triage-c", dashboard_url=registry.url,
                    deployment_token="not-the-token")
    registration = service.app.state.service.registration
    eventually(lambda: registration.last_error)
    assert "403" in registration.last_error and "CAGENTS_DEPLOYMENT_TOKEN" in registration.last_error
    assert registered(registry, "triage-c") is None
    assert any("cannot register" in record.getMessage() for record in caplog.records)
    # The service itself keeps serving.
    reply = httpx.post(service.url + "/execute", json={"inputs": {"ticket": "x"}})
    assert reply.json()["status"] == "completed"


def test_executions_are_reported_with_their_states(
    serve: Any, triage_file: Path, registry: Any, tmp_path: Path
) -> None:
    service = serve(triage_file, deployment_id="triage-d", dashboard_url=registry.url,
                    deployment_token=registry.token, home=tmp_path / "svc")
    ids = []
    for ticket in ("one", "two"):
        ids.append(httpx.post(service.url + "/execute", json={"inputs": {"ticket": ticket}}).json()["execution_id"])
    failed = httpx.post(service.url + "/execute", json={"inputs": {}})
    assert failed.status_code == 422
    service.stop()  # stopping sends what is still queued

    with registry.workbench() as workbench:
        rows = workbench.db.executions.list().items
        assert sorted(row.id for row in rows) == sorted(ids)
        for row in rows:
            assert (row.deployment_id, row.status, row.workflow_name) == ("triage-d", "completed", "triage")
            assert row.outputs["ticket"] in ("one", "two") and row.total_tokens > 0
            assert row.config_snapshot and row.completed_at is not None
            states = workbench.db.executions.states(row.id)
            assert [(s.step, s.node_id) for s in states] == [(1, "classify"), (2, "answer")]
            assert states[-1].state_data["reply"] == row.outputs["reply"]
        page = workbench.db.executions.summary()
        assert (page.total, page.completed) == (2, 2)
    with Workbench.open(tmp_path / "svc") as own:  # the service keeps its own copy
        assert sorted(r.id for r in own.db.executions.list().items) == sorted(ids)
    reporter = service.app.state.service.reporter
    assert reporter.dropped == 0 and reporter.pending == 0


def test_a_run_still_going_is_reported_running_then_finished(
    serve: Any, hold_file: Path, registry: Any
) -> None:
    from deploy import helpers

    service = serve(hold_file, deployment_id="held-1", dashboard_url=registry.url, deployment_token=registry.token)
    execution_id = httpx.post(service.url + "/execute?async=true", json={"inputs": {"value": "v"}}).json()[
        "execution_id"]

    def status() -> str | None:
        with registry.workbench() as workbench:
            found = workbench.db.executions.list().items
        return found[0].status if found else None

    eventually(lambda: status() == "running")
    helpers.GATE.set()
    eventually(lambda: status() == "completed")
    with registry.workbench() as workbench:
        assert workbench.db.executions.get(execution_id).outputs["echoed"] == "v"
        assert len(workbench.db.executions.states(execution_id)) == 1


def test_reports_that_keep_failing_are_dropped_with_a_log_line(
    triage_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening: refused
    caplog.set_level(logging.WARNING, "cagents.deploy")
    with Workbench.open(tmp_path / "svc") as workbench:
        result = run_workflow(workbench, str(triage_file), {"ticket": "x"}, deployment_id="lost-1")

        async def send() -> Reporter:
            reporter = Reporter(url, "token", "lost-1", workbench.db, max_failures=3, retry_delay=0.01)
            reporter.start()
            reporter.mark(result.execution_id)
            assert await reporter.flush(timeout=60)
            await reporter.aclose()
            return reporter

        reporter = asyncio.run(send())
    closed.close()
    assert (reporter.sent, reporter.dropped, reporter.pending) == (0, 1, 0)
    messages = [record.getMessage() for record in caplog.records]
    assert any(f"dropped the report of execution {result.execution_id}" in m and "3 attempts failed" in m
               for m in messages), messages


def test_the_registry_refuses_requests_without_the_token(registry: Any) -> None:
    url = registry.url + "/cagents/api/deployments"
    body = {"deployment_id": "x", "deployment_name": "x", "workflow_name": "w", "host": "127.0.0.1", "port": 1}
    assert httpx.post(url, json=body).status_code == 403
    assert httpx.post(url, json=body, headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert httpx.get(registry.url + "/cagents/api/health").json() == {"status": "ok"}
    ok = httpx.post(url, json=body, headers={"Authorization": f"Bearer {registry.token}"})
    assert ok.status_code == 201 and ok.json()["deployment_id"] == "x"
    bad = httpx.post(url, json={**body, "port": "80"}, headers={"Authorization": f"Bearer {registry.token}"})
    assert bad.status_code == 422 and bad.json()["field"] == "port"
    missing = httpx.post(registry.url + "/cagents/api/deployments/nope/heartbeat",
                         headers={"Authorization": f"Bearer {registry.token}"})
    assert missing.status_code == 404 and "register again" in missing.json()["message"]


def test_cancel_from_the_workbench_stops_the_run_in_the_service(
    serve: Any, hold_file: Path, registry: Any
) -> None:
    """The Executions page's Cancel reaches a deployed run: the heartbeat answer names it."""
    from cagents.app.cancel import cancel_execution

    service = serve(hold_file, deployment_id="held-2", dashboard_url=registry.url,
                    deployment_token=registry.token, heartbeat_interval=0.2)
    execution_id = httpx.post(service.url + "/execute?async=true", json={"inputs": {"value": "v"}}).json()[
        "execution_id"]

    def status() -> str | None:
        with registry.workbench() as workbench:
            found = workbench.db.executions.list().items
        return found[0].status if found else None

    eventually(lambda: status() == "running")
    with registry.workbench() as workbench:
        asked = cancel_execution(workbench, execution_id)  # nothing here drives it: a request
        assert asked.status == "running" and asked.cancel_requested
    eventually(lambda: status() == "cancelled")
    local = httpx.get(f"{service.url}/executions/{execution_id}").json()
    assert local["status"] == "cancelled"
