"""`deployments...`: the registry over REST, the deployment token, and calls to a real service."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any

from app.dbview import dump_database, rows, wait_for
from support.deployment_server import DeploymentServer, closed_port, deployment_server  # noqa: F401

CANARY = "sk-canary-rest-deploy-8c1f"


def _body(port: int, **changes: Any) -> dict[str, Any]:
    return {"deployment_id": "greet-1", "deployment_name": "Greeter", "workflow_name": "greet",
            "host": "127.0.0.1", "port": port, **changes}


def _db(api: Any, runtime: Any) -> Path:
    api.run(runtime.workbench())
    return Path(runtime.home) / "configurable_agents.db"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _expire(db_file: Path, deployment_id: str) -> None:
    import sqlite3

    connection = sqlite3.connect(db_file, timeout=10)
    with connection:
        connection.execute("UPDATE deployments SET last_heartbeat = '2000-01-01 00:00:00.000000' "
                           "WHERE deployment_id = ?", (deployment_id,))
    connection.close()


def test_a_service_registers_and_beats_with_the_deployment_token(api: Any, runtime: Any) -> None:
    db_file = _db(api, runtime)
    # The first bearer request makes the workbench create its token file; a guess is refused.
    refused = api.anonymous("POST", "deployments", _body(8000), headers=_bearer("not-the-token-at-all"))
    assert refused.code == 403
    assert "deployment token" in refused.json["message"]
    token_file = Path(runtime.home) / "deployment_token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert token == runtime.deployment_token()

    reply = api.anonymous("POST", "deployments", _body(8000, ttl_seconds=30, capabilities={"async": True}),
                          headers=_bearer(token))
    assert reply.code == 201, reply.body
    assert reply.json["deployment_id"] == "greet-1" and reply.json["ttl_seconds"] == 30
    (row,) = rows(db_file, "SELECT * FROM deployments")
    assert (row["host"], row["port"], row["workflow_name"]) == ("127.0.0.1", 8000, "greet")

    _expire(db_file, "greet-1")
    beat = api.anonymous("POST", "deployments/greet-1/heartbeat", headers=_bearer(token))
    assert beat.code == 200, beat.body
    assert beat.json["is_alive"] is True
    (row,) = rows(db_file, "SELECT last_heartbeat FROM deployments")
    assert not row["last_heartbeat"].startswith("2000-")

    unknown = api.anonymous("POST", "deployments/nobody/heartbeat", headers=_bearer(token))
    assert unknown.code == 404
    assert "register again" in unknown.json["message"]


def test_without_a_token_or_with_a_wrong_one_services_are_refused(api: Any, runtime: Any) -> None:
    db_file = _db(api, runtime)
    token = runtime.deployment_token()
    assert api("POST", "deployments", _body(8000)).code == 201
    wrong = token[:-1] + ("x" if token[-1] != "x" else "y")
    for headers in (_bearer(wrong), {"Content-Type": "application/json"}, {"Authorization": "Bearer "}):
        assert api.anonymous("POST", "deployments", _body(8001, deployment_id="evil"),
                             headers=headers).code == 403
        assert api.anonymous("POST", "deployments/greet-1/heartbeat", headers=headers).code == 403
    # The deployment token is only for the routes services call.
    assert api.anonymous("GET", "deployments", headers=_bearer(token)).code == 403
    assert api.anonymous("DELETE", "deployments/greet-1", headers=_bearer(token)).code == 403
    assert api.anonymous("POST", "deployments/cleanup", headers=_bearer(token)).code == 403
    assert [r["deployment_id"] for r in rows(db_file, "SELECT deployment_id FROM deployments")] == ["greet-1"]


def test_anonymous_requests_are_refused(api: Any) -> None:
    for method, path in (("GET", "deployments"), ("POST", "deployments"), ("GET", "deployments/x"),
                         ("DELETE", "deployments/x"), ("POST", "deployments/cleanup"),
                         ("POST", "deployments/x/heartbeat"), ("GET", "deployments/x/schema"),
                         ("POST", "deployments/x/execute")):
        reply = api.anonymous(method, path, {} if method == "POST" else None)
        assert reply.code == 403, (method, path, reply.code)


def test_browser_writes_need_the_xsrf_token(api: Any, runtime: Any) -> None:
    cookies = api.browser_cookies()
    refused = api.browser("POST", "deployments", _body(8000), cookies=cookies, xsrf=None)
    assert refused.code == 403
    assert api("GET", "deployments").json["summary"]["total"] == 0
    accepted = api.browser("POST", "deployments", _body(8000), cookies=cookies, xsrf="abc123")
    assert accepted.code == 201, accepted.body
    for method, path in (("POST", "deployments/greet-1/heartbeat"), ("POST", "deployments/cleanup"),
                         ("DELETE", "deployments/greet-1"), ("POST", "deployments/greet-1/execute")):
        assert api.browser(method, path, cookies=cookies, xsrf=None).code == 403, (method, path)
    assert api.browser("POST", "deployments/greet-1/heartbeat", cookies=cookies, xsrf="abc123").code == 200
    assert api.browser("DELETE", "deployments/greet-1", cookies=cookies, xsrf="abc123").code == 200


def test_register_by_hand_checks_health_first(api: Any, runtime: Any,
                                              deployment_server: DeploymentServer) -> None:
    db_file = _db(api, runtime)
    reply = api("POST", "deployments", _body(deployment_server.port, check_health=True))
    assert reply.code == 201, reply.body
    assert [(r.method, r.path) for r in deployment_server.requests] == [("GET", "/health")]

    port = closed_port()
    down = api("POST", "deployments", _body(port, deployment_id="down", check_health=True))
    assert down.code == 502
    assert down.json["error"] == "DeploymentError"
    assert f"127.0.0.1:{port} cannot be reached" in down.json["message"]
    assert "check that the service is running" in down.json["message"]

    deployment_server.healthy = False
    sick = api("POST", "deployments", _body(deployment_server.port, deployment_id="sick", check_health=True))
    assert sick.code == 502 and "GET /health with 503" in sick.json["message"]
    assert [r["deployment_id"] for r in rows(db_file, "SELECT deployment_id FROM deployments")] == ["greet-1"]


def test_validation_errors_name_the_field(api: Any) -> None:
    cases = [
        ({**_body(8000), "port": "8000"}, "port", 422), (_body(0), "port", 422), (_body(65536), "port", 422),
        ({k: v for k, v in _body(8000).items() if k != "host"}, "host", 422),
        (_body(8000, host="http://x"), "host", 422), (_body(8000, ttl_seconds=0), "ttl_seconds", 422),
        (_body(8000, deployment_id="cleanup"), "deployment_id", 422),
        (_body(8000, capabilities=[1]), "capabilities", 422),
        (_body(8000, check_health="yes"), "check_health", 422),
        (_body(8000, prot=1), "prot", 422),
    ]
    for body, field, status in cases:
        reply = api("POST", "deployments", body)
        assert (reply.code, reply.json.get("field")) == (status, field), (body, reply.body)
    assert api("GET", "deployments").json["summary"]["total"] == 0
    reply = api("GET", "deployments", params={"alive": "maybe"})
    assert (reply.code, reply.json["field"]) == (400, "alive")

    assert api("POST", "deployments", _body(8000)).code == 201
    for body, field in (({"inputs": [1]}, "inputs"), ({"env": {"KEY": 1}}, "env.KEY"),
                        ({"async": "no"}, "async"), ({"force": 1}, "force"), ({"input": {}}, "input")):
        reply = api("POST", "deployments/greet-1/execute", body)
        assert (reply.code, reply.json["field"]) == (422, field), (body, reply.body)
    reply = api("POST", "deployments/greet-1/heartbeat", {"status": "ok"})
    assert (reply.code, reply.json["field"]) == (422, "status")


def test_ttl_expiry_shows_dead_and_cleanup_removes_only_those(api: Any, runtime: Any) -> None:
    db_file = _db(api, runtime)
    started = time.monotonic()  # before the registration: its heartbeat is no older than this
    assert api("POST", "deployments", _body(8000, deployment_id="short", ttl_seconds=1)).code == 201
    assert api("POST", "deployments", _body(8001, deployment_id="long", ttl_seconds=600)).code == 201

    def short_is_dead() -> Any:
        listing = api("GET", "deployments").json
        return listing if listing["summary"]["dead"] == 1 else None

    listing = wait_for(short_is_dead, "the 1 s TTL to pass")
    assert time.monotonic() - started >= 1.0
    assert listing["summary"] == {"total": 2, "healthy": 1, "dead": 1}
    alive = {item["deployment_id"]: item["is_alive"] for item in listing["items"]}
    assert alive == {"short": False, "long": True}
    dead = api("GET", "deployments", params={"alive": "false"}).json
    assert [item["deployment_id"] for item in dead["items"]] == ["short"]
    assert api("GET", "deployments/short").json["heartbeat_age_seconds"] > 1

    # The id route must not swallow `cleanup`.
    reply = api("POST", "deployments/cleanup")
    assert reply.code == 200, reply.body
    assert reply.json == {"removed": ["short"]}
    assert [r["deployment_id"] for r in rows(db_file, "SELECT deployment_id FROM deployments")] == ["long"]
    assert api("GET", "deployments/cleanup").code == 405


def test_schema_and_one_record(api: Any, deployment_server: DeploymentServer) -> None:
    body = _body(deployment_server.port, metadata={"api_token": "s3cret-token"})
    assert api("POST", "deployments", body).code == 201
    deployment_server.token = "s3cret-token"
    record = api("GET", "deployments/greet-1")
    assert record.code == 200
    assert record.json["port"] == deployment_server.port
    assert record.json["deployment_metadata"] == {"api_token": "[hidden]"}
    schema = api("GET", "deployments/greet-1/schema")
    assert schema.code == 200, schema.body
    assert schema.json["input_schema"]["required"] == ["name"]
    assert "greeting" in schema.json["output_schema"]["properties"]
    assert deployment_server.requests[-1].headers["Authorization"] == "Bearer s3cret-token"
    for method, path in (("GET", "deployments/nobody"), ("GET", "deployments/nobody/schema"),
                         ("POST", "deployments/nobody/execute"), ("DELETE", "deployments/nobody")):
        reply = api(method, path)
        assert reply.code == 404, (method, path)
        assert "nobody" in reply.json["message"]


def test_execute_passes_inputs_and_env_and_stores_no_secret(api: Any, runtime: Any,
                                                            deployment_server: DeploymentServer) -> None:
    db_file = _db(api, runtime)
    assert api("POST", "deployments", _body(deployment_server.port)).code == 201
    reply = api("POST", "deployments/greet-1/execute",
                {"inputs": {"name": "Ada", "times": 2}, "env": {"OPENAI_API_KEY": CANARY}})
    assert reply.code == 200, reply.body
    assert reply.json["outputs"] == {"greeting": "Hello Ada Hello Ada"}
    assert reply.json["env_keys"] == ["OPENAI_API_KEY"]
    (sent,) = deployment_server.executions()
    assert sent.body == {"inputs": {"name": "Ada", "times": 2}, "env": {"OPENAI_API_KEY": CANARY}}
    assert CANARY not in dump_database(db_file)

    started = api("POST", "deployments/greet-1/execute", {"inputs": {"name": "Bo"}, "async": True})
    assert started.code == 202 and started.json["status"] == "running"

    refused = api("POST", "deployments/greet-1/execute",
                  {"inputs": {"times": CANARY}, "env": {"OPENAI_API_KEY": CANARY}})
    assert refused.code == 422, refused.body
    assert refused.json["error"] == "DeploymentError" and refused.json["upstream_status"] == 422
    locs = [tuple(item["loc"]) for item in refused.json["detail"]]
    assert ("body", "inputs", "name") in locs and ("body", "inputs", "times") in locs
    assert "inputs.name: Field required" in refused.json["message"]
    assert CANARY not in refused.body.decode()
    assert CANARY not in dump_database(db_file)


def test_a_dead_deployment_is_refused_unless_forced(api: Any, runtime: Any,
                                                    deployment_server: DeploymentServer) -> None:
    db_file = _db(api, runtime)
    assert api("POST", "deployments", _body(deployment_server.port)).code == 201
    _expire(db_file, "greet-1")
    reply = api("POST", "deployments/greet-1/execute", {"inputs": {"name": "Ada"}})
    assert reply.code == 409
    assert "'greet-1' is dead" in reply.json["message"] and "force" in reply.json["message"]
    assert deployment_server.executions() == []
    forced = api("POST", "deployments/greet-1/execute", {"inputs": {"name": "Ada"}, "force": True})
    assert forced.code == 200 and forced.json["status"] == "completed"


def test_an_unreachable_deployment_is_a_502_naming_it(api: Any) -> None:
    port = closed_port()
    assert api("POST", "deployments", _body(port)).code == 201
    reply = api("POST", "deployments/greet-1/execute", {"inputs": {"name": "Ada"}})
    assert reply.code == 502
    assert f"deployment 'greet-1' at 127.0.0.1:{port} cannot be reached" in reply.json["message"]
    assert api("GET", "deployments/greet-1/schema").code == 502


def test_deregister_then_it_is_gone(api: Any) -> None:
    assert api("POST", "deployments", _body(8000)).code == 201
    reply = api("DELETE", "deployments/greet-1")
    assert reply.code == 200 and reply.json == {"deployment_id": "greet-1", "deregistered": True}
    assert api("GET", "deployments/greet-1").code == 404
    assert api("DELETE", "deployments/greet-1").code == 404
    assert api("GET", "deployments").json == {"items": [], "summary": {"total": 0, "healthy": 0, "dead": 0}}
