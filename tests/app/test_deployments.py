"""The deployments use cases against a real database and a real stand-in service on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.dbview import dump_database, rows
from cagents.app import Workbench
from cagents.app.deployments import (
    aexecute_deployment,
    adeployment_schema,
    aregister,
    cleanup,
    deregister,
    execute_on,
    fetch_schema,
    get_deployment,
    heartbeat,
    list_deployments,
    register,
)
from cagents.errors import ConflictError, DeploymentError, NotFoundError, RequestError
from support.deployment_server import DeploymentServer, closed_port, deployment_server  # noqa: F401

CANARY = "sk-canary-deploy-5b2e9d"


def _fields(server: DeploymentServer | None = None, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "deployment_id": "greet-1", "deployment_name": "Greeter", "workflow_name": "greet",
        "host": "127.0.0.1", "port": server.port if server else closed_port(),
    }
    return {**fields, **changes}


def _expire(db_file: Path, deployment_id: str) -> None:
    """Age the heartbeat in the database file, as a service that stopped long ago would leave it."""
    import sqlite3

    connection = sqlite3.connect(db_file, timeout=10)
    with connection:
        connection.execute("UPDATE deployments SET last_heartbeat = '2000-01-01 00:00:00.000000' "
                           "WHERE deployment_id = ?", (deployment_id,))
    connection.close()


def test_register_list_and_summary(workbench: Workbench, db_file: Path) -> None:
    first = register(workbench, **_fields(capabilities={"async": True}, metadata={"image": "greet:1"}))
    assert first["deployment_id"] == "greet-1" and first["is_alive"] is True
    assert first["capabilities"] == {"async": True}
    register(workbench, **_fields(deployment_id="greet-2"))
    _expire(db_file, "greet-2")
    listing = list_deployments(workbench)
    assert listing["summary"] == {"total": 2, "healthy": 1, "dead": 1}
    assert {item["deployment_id"]: item["is_alive"] for item in listing["items"]} == {
        "greet-1": True, "greet-2": False}
    assert [i["deployment_id"] for i in list_deployments(workbench, alive=False)["items"]] == ["greet-2"]
    assert list_deployments(workbench, alive=True)["summary"]["total"] == 2
    assert get_deployment(workbench, "greet-1")["deployment_metadata"] == {"image": "greet:1"}


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"port": 0}, "port", "between 1 and 65535"),
    ({"port": 70000}, "port", "between 1 and 65535"),
    ({"host": "http://127.0.0.1"}, "host", "bare host name"),
    ({"host": " "}, "host", "non-empty"),
    ({"deployment_id": "cleanup"}, "deployment_id", "cannot be used"),
    ({"deployment_id": "a/b"}, "deployment_id", "'/'"),
    ({"deployment_id": "x" * 129}, "deployment_id", "at most 128"),
    ({"ttl_seconds": 0}, "ttl_seconds", "at least 1"),
])
def test_bad_registrations_name_the_field(workbench: Workbench, change: dict[str, Any], field: str,
                                          words: str) -> None:
    with pytest.raises(RequestError, match=words) as caught:
        register(workbench, **_fields(**change))
    assert caught.value.field == field and caught.value.http_status == 422
    assert list_deployments(workbench)["summary"]["total"] == 0


def test_health_check_before_registering(workbench: Workbench, deployment_server: DeploymentServer) -> None:
    record = register(workbench, **_fields(deployment_server), check_health=True)
    assert record["deployment_id"] == "greet-1"
    assert [(r.method, r.path) for r in deployment_server.requests] == [("GET", "/health")]


async def test_health_check_refuses_a_closed_port_and_stores_nothing(workbench: Workbench) -> None:
    port = closed_port()
    with pytest.raises(DeploymentError) as caught:
        await aregister(workbench, check_health=True, **_fields(port=port))
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "cannot be reached" in message
    assert "check that the service is running" in message
    assert caught.value.http_status == 502
    assert list_deployments(workbench)["summary"]["total"] == 0


def test_health_check_refuses_an_unhealthy_service(workbench: Workbench,
                                                   deployment_server: DeploymentServer) -> None:
    deployment_server.healthy = False
    with pytest.raises(DeploymentError, match="answered GET /health with 503") as caught:
        register(workbench, **_fields(deployment_server), check_health=True)
    assert caught.value.detail["detail"] == "the model gateway is down"
    assert list_deployments(workbench)["summary"]["total"] == 0


def test_heartbeat_refreshes_and_unknown_ids_must_register(workbench: Workbench, db_file: Path) -> None:
    register(workbench, **_fields())
    _expire(db_file, "greet-1")
    assert get_deployment(workbench, "greet-1")["is_alive"] is False
    assert heartbeat(workbench, "greet-1")["is_alive"] is True
    (row,) = rows(db_file, "SELECT last_heartbeat FROM deployments")
    assert not row["last_heartbeat"].startswith("2000-")
    with pytest.raises(NotFoundError, match="must register again"):
        heartbeat(workbench, "nobody")


def test_cleanup_removes_only_the_expired(workbench: Workbench, db_file: Path) -> None:
    for name in ("old-1", "fresh", "old-2"):
        register(workbench, **_fields(deployment_id=name))
    _expire(db_file, "old-1")
    _expire(db_file, "old-2")
    assert cleanup(workbench) == {"removed": ["old-1", "old-2"]}
    assert [r["deployment_id"] for r in rows(db_file, "SELECT deployment_id FROM deployments")] == ["fresh"]
    assert cleanup(workbench) == {"removed": []}
    assert deregister(workbench, "fresh") == {"deployment_id": "fresh", "deregistered": True}
    with pytest.raises(NotFoundError):
        deregister(workbench, "fresh")


async def test_schema_and_execute_pass_through(workbench: Workbench, db_file: Path,
                                               deployment_server: DeploymentServer) -> None:
    register(workbench, **_fields(deployment_server))
    schema = await adeployment_schema(workbench, "greet-1")
    assert schema["workflow"] == "greet" and schema["input_schema"]["required"] == ["name"]

    result = await aexecute_deployment(workbench, "greet-1", {"name": "Ada", "times": 2},
                                       {"OPENAI_API_KEY": CANARY})
    assert result["status"] == "completed"
    assert result["outputs"] == {"greeting": "Hello Ada Hello Ada"}
    (sent,) = deployment_server.executions()
    assert sent.body == {"inputs": {"name": "Ada", "times": 2}, "env": {"OPENAI_API_KEY": CANARY}}
    assert "Authorization" not in sent.headers
    assert CANARY not in dump_database(db_file)

    started = await aexecute_deployment(workbench, "greet-1", {"name": "Bo"}, async_=True)
    assert started == {"execution_id": "exec-2", "status": "running"}
    assert deployment_server.executions()[-1].body["async"] is True


async def test_field_errors_keep_their_status_and_never_echo_secrets(
    workbench: Workbench, deployment_server: DeploymentServer
) -> None:
    record = workbench.db.deployments.register(**_fields(deployment_server))
    with pytest.raises(DeploymentError) as caught:
        # The service's message for `times` quotes the value, which here is the secret.
        await execute_on(record, {"times": CANARY, "extra": 1}, {"API_KEY": CANARY})
    error = caught.value
    assert error.http_status == 422 and error.upstream_status == 422
    assert "inputs.name: Field required" in str(error)
    locs = [tuple(item["loc"]) for item in error.detail]
    assert ("body", "inputs", "name") in locs and ("body", "inputs", "times") in locs
    assert all("input" not in item for item in error.detail)
    assert CANARY not in str(error.to_dict())
    assert "'[hidden]' is not of type 'integer'" in str(error)


async def test_a_dead_deployment_is_refused_unless_forced(workbench: Workbench, db_file: Path,
                                                          deployment_server: DeploymentServer) -> None:
    register(workbench, **_fields(deployment_server, ttl_seconds=1))
    _expire(db_file, "greet-1")
    with pytest.raises(ConflictError, match="is dead") as caught:
        await aexecute_deployment(workbench, "greet-1", {"name": "Ada"})
    assert caught.value.http_status == 409 and "force" in str(caught.value)
    assert deployment_server.executions() == []
    forced = await aexecute_deployment(workbench, "greet-1", {"name": "Ada"}, force=True)
    assert forced["status"] == "completed"


async def test_a_service_token_in_metadata_is_sent_and_never_shown(
    workbench: Workbench, deployment_server: DeploymentServer
) -> None:
    deployment_server.token = "service-secret-123"
    shown = register(workbench, **_fields(deployment_server, metadata={"api_token": "service-secret-123"}))
    assert shown["deployment_metadata"] == {"api_token": "[hidden]"}
    assert "service-secret" not in str(list_deployments(workbench))
    record = workbench.db.deployments.get("greet-1")
    assert (await fetch_schema(record))["workflow"] == "greet"
    assert deployment_server.requests[-1].headers["Authorization"] == "Bearer service-secret-123"

    register(workbench, **_fields(deployment_server, deployment_id="no-token"))
    with pytest.raises(DeploymentError, match="refused the workbench's credentials") as caught:
        await adeployment_schema(workbench, "no-token")
    assert caught.value.http_status == 502 and caught.value.upstream_status == 401


async def test_an_unreachable_deployment_names_where_it_was(workbench: Workbench) -> None:
    port = closed_port()
    register(workbench, **_fields(port=port))
    with pytest.raises(DeploymentError, match=f"deployment 'greet-1' at 127.0.0.1:{port} cannot be reached"):
        await aexecute_deployment(workbench, "greet-1", {"name": "Ada"}, {"KEY": CANARY})
    with pytest.raises(NotFoundError):
        await adeployment_schema(workbench, "nobody")
