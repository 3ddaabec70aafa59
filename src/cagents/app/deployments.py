"""Deployments: the registry (register, heartbeat, health from the TTL, cleanup) and the calls
the workbench makes to a deployed service (`GET /health`, `GET /schema`, `POST /execute`,
`POST /executions/{id}/resume`).

Every function answers JSON-able dicts. A service that cannot be reached is a
`DeploymentError` (502) naming host:port and what to check; a request the service refuses
(a 422 with field errors) keeps the service's status and detail. `env` values sent to
`execute_on` go to the service for that one request and are never stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from cagents.errors import ConflictError, DeploymentError, NotFoundError, RequestError

if TYPE_CHECKING:
    import httpx

    from cagents.app.workbench import Workbench
    from cagents.store.records import DeploymentRecord, ExecutionRecord

__all__ = [
    "RESERVED_IDS", "TOKEN_KEY", "adeployment_schema", "aexecute_deployment", "aregister",
    "aresume_deployed", "cleanup", "deregister", "execute_on", "fetch_schema", "get_deployment",
    "heartbeat", "list_deployments", "probe_health", "public_dict", "register", "resume_on",
]

#: Ids a route already uses (`POST deployments/cleanup`): no deployment may take them.
RESERVED_IDS = frozenset({"cleanup"})
#: `metadata[TOKEN_KEY]`: the bearer token the deployed service expects, when it wants one.
TOKEN_KEY = "api_token"
HEALTH_TIMEOUT = 3.0
SCHEMA_TIMEOUT = 10.0
#: A synchronous execution answers when the workflow ends, so reading may take long.
EXECUTE_TIMEOUT = 3600.0
_HIDDEN = "[hidden]"
# Upstream refusals that mean "this is not the service you think" rather than "your request
# is wrong": passing them through would read as the workbench's own 401/403/404/405.
_NOT_PASSED_THROUGH = {401: "refused the workbench's credentials; register it with the token it "
                            f"expects in metadata.{TOKEN_KEY}",
                       403: "refused the workbench's credentials; register it with the token it "
                            f"expects in metadata.{TOKEN_KEY}",
                       404: "has no such route; is it a cagents deployment on that host:port?",
                       405: "has no such route; is it a cagents deployment on that host:port?"}


# ---- the registry -----------------------------------------------------------------------
def _check(deployment_id: str, deployment_name: str, workflow_name: str, host: str, port: int,
           ttl_seconds: int) -> None:
    """Values the route cannot serve or the table cannot hold, named by field (422)."""
    texts = (("deployment_id", deployment_id, 128), ("deployment_name", deployment_name, 200),
             ("workflow_name", workflow_name, 200), ("host", host, 255))
    for field, value, limit in texts:
        if not isinstance(value, str) or not value.strip():
            raise RequestError(f"'{field}' must be a non-empty string", field=field, status=422)
        if len(value) > limit:
            raise RequestError(f"'{field}' is {len(value)} characters long; at most {limit} fit",
                               field=field, status=422)
    if "/" in deployment_id or deployment_id in RESERVED_IDS:
        raise RequestError(f"'deployment_id' {deployment_id!r} cannot be used: ids may not contain '/' "
                           f"nor be one of {sorted(RESERVED_IDS)}", field="deployment_id", status=422)
    if any(c in host for c in "/?#@ \t") or "://" in host:
        raise RequestError(f"'host' {host!r} must be a bare host name or IP address (no scheme, path or "
                           "port), e.g. 127.0.0.1", field="host", status=422)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise RequestError(f"'port' must be an integer between 1 and 65535, got {port!r}", field="port",
                           status=422)
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int) or ttl_seconds < 1:
        raise RequestError(f"'ttl_seconds' must be an integer of at least 1, got {ttl_seconds!r}",
                           field="ttl_seconds", status=422)


def register(workbench: Workbench, *, deployment_id: str, deployment_name: str, workflow_name: str,
             host: str, port: int, ttl_seconds: int = 60, capabilities: dict[str, Any] | None = None,
             metadata: dict[str, Any] | None = None, check_health: bool = False) -> dict[str, Any]:
    """Add or replace a deployment; with `check_health`, only when its `/health` answers 200."""
    _check(deployment_id, deployment_name, workflow_name, host, port, ttl_seconds)
    if check_health:
        _probe_sync(host, port, deployment_id)
    record = workbench.db.deployments.register(
        deployment_id=deployment_id, deployment_name=deployment_name, workflow_name=workflow_name,
        host=host, port=port, ttl_seconds=ttl_seconds, capabilities=capabilities,
        deployment_metadata=metadata,
    )
    return public_dict(record)


async def aregister(workbench: Workbench, *, check_health: bool = False, **fields: Any) -> dict[str, Any]:
    """`register` for a host's event loop: the health check awaits, the database runs in a thread."""
    _check(fields["deployment_id"], fields["deployment_name"], fields["workflow_name"], fields["host"],
           fields["port"], fields.get("ttl_seconds", 60))
    if check_health:
        await probe_health(fields["host"], fields["port"], fields["deployment_id"])
    return await asyncio.to_thread(register, workbench, **fields)


def heartbeat(workbench: Workbench, deployment_id: str) -> dict[str, Any]:
    """The deployment is alive now; an unknown id (expired and cleaned up) must register again.

    The answer carries `cancel_requested`: the ids of this deployment's running executions that
    someone asked to cancel here (the Executions page), for the service to stop.
    """
    try:
        record = public_dict(workbench.db.deployments.heartbeat(deployment_id))
    except NotFoundError as exc:
        exc.args = (f"{exc}; a service whose registration was removed must register again "
                    "(POST /cagents/api/deployments)",)
        raise
    record["cancel_requested"] = cancel_requests(workbench, deployment_id)
    return record


def cancel_requests(workbench: Workbench, deployment_id: str, execution_id: str | None = None) -> list[str]:
    """Running executions of a deployment (or just `execution_id`) that were asked to cancel."""
    from sqlalchemy import select

    from cagents.store.models import Execution

    query = select(Execution.id).where(
        Execution.deployment_id == deployment_id, Execution.cancel_requested.is_(True),
        Execution.status.in_(("running", "pending")),
    )
    if execution_id is not None:
        query = query.where(Execution.id == execution_id)
    with workbench.db.read() as conn:
        return sorted(conn.execute(query).scalars())


def get_deployment(workbench: Workbench, deployment_id: str) -> dict[str, Any]:
    return public_dict(workbench.db.deployments.get(deployment_id))


def list_deployments(workbench: Workbench, *, alive: bool | None = None) -> dict[str, Any]:
    """The deployments (newest first) and a health summary of all of them."""
    records = workbench.db.deployments.list()
    healthy = sum(1 for record in records if record.is_alive)
    shown = records if alive is None else [r for r in records if r.is_alive == alive]
    return {"items": [public_dict(record) for record in shown],
            "summary": {"total": len(records), "healthy": healthy, "dead": len(records) - healthy}}


def deregister(workbench: Workbench, deployment_id: str) -> dict[str, Any]:
    workbench.db.deployments.deregister(deployment_id)
    return {"deployment_id": deployment_id, "deregistered": True}


def cleanup(workbench: Workbench) -> dict[str, Any]:
    """Remove the deployments whose last heartbeat is older than their TTL."""
    return {"removed": workbench.db.deployments.cleanup_expired()}


def public_dict(record: DeploymentRecord) -> dict[str, Any]:
    """The record as JSON, with the service's own token hidden (it is only for calling it)."""
    data = record.to_dict()
    metadata = data.get("deployment_metadata")
    if isinstance(metadata, dict) and metadata.get(TOKEN_KEY):
        data["deployment_metadata"] = {**metadata, TOKEN_KEY: _HIDDEN}
    return data


# ---- calls to a deployed service --------------------------------------------------------
def _url(host: str, port: int, path: str) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6 literal
    return f"http://{host}:{port}{path}"


@contextmanager
def _reaching(what: str, host: str, port: int, call: str, timeout: float) -> Iterator[None]:
    """Network failures as a DeploymentError that says where and what to check."""
    import httpx

    try:
        yield
    except httpx.TimeoutException:
        raise DeploymentError(f"{what} at {host}:{port} did not answer {call} within {timeout:g} s; check "
                              "that the service is running and not overloaded") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        reason = str(exc) or type(exc).__name__
        raise DeploymentError(f"{what} at {host}:{port} cannot be reached ({call}: {reason}); check that "
                              f"the service is running and listens on {host}:{port}") from None


def _health_answer(response: httpx.Response, what: str, host: str, port: int) -> dict[str, Any]:
    if response.status_code != 200:
        raise DeploymentError(
            f"{what} at {host}:{port} answered GET /health with {response.status_code}, not 200; it is not "
            "healthy (see the service's log) or it is not a cagents deployment",
            status=response.status_code, detail=_body(response),
        )
    body = _body(response)
    return {"status_code": 200, "health": body}


def _probe_sync(host: str, port: int, deployment_id: str | None = None) -> dict[str, Any]:
    import httpx

    what = f"deployment '{deployment_id}'" if deployment_id else "the service"
    with _reaching(what, host, port, "GET /health", HEALTH_TIMEOUT), \
            httpx.Client(timeout=HEALTH_TIMEOUT, trust_env=False) as client:
        response = client.get(_url(host, port, "/health"))
    return _health_answer(response, what, host, port)


async def probe_health(host: str, port: int, deployment_id: str | None = None) -> dict[str, Any]:
    """`GET /health` of a service; anything but a 200 in time is a DeploymentError."""
    import httpx

    what = f"deployment '{deployment_id}'" if deployment_id else "the service"
    # trust_env=False: a proxy from the environment must not see (or divert) these calls.
    with _reaching(what, host, port, "GET /health", HEALTH_TIMEOUT):
        async with httpx.AsyncClient(timeout=HEALTH_TIMEOUT, trust_env=False) as client:
            response = await client.get(_url(host, port, "/health"))
    return _health_answer(response, what, host, port)


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]


def _headers(record: DeploymentRecord) -> dict[str, str]:
    token = (record.deployment_metadata or {}).get(TOKEN_KEY)
    return {"Authorization": f"Bearer {token}"} if isinstance(token, str) and token else {}


def _scrub(value: Any, secrets: list[str]) -> Any:
    """`value` with every secret replaced: a service may echo inputs back in its errors."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, _HIDDEN)
        return value
    if isinstance(value, list):
        return [_scrub(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, secrets) for key, item in value.items()}
    return value


def _summary(detail: Any) -> str:
    """FastAPI's `[{"loc": [...], "msg": ...}]` as `inputs.topic: Field required`."""
    items = detail.get("detail", detail) if isinstance(detail, dict) else detail
    if isinstance(items, list) and items and all(isinstance(i, dict) and "msg" in i for i in items):
        parts = []
        for item in items[:10]:
            loc = [str(p) for p in item.get("loc", []) if p != "body"]
            parts.append(f"{'.'.join(loc) or 'body'}: {item['msg']}")
        return "; ".join(parts)
    return str(items)[:500]


def _answer(response: httpx.Response, record: DeploymentRecord, call: str, secrets: list[str]) -> Any:
    """The service's JSON answer; its refusals as DeploymentErrors that keep status and detail."""
    what = f"deployment '{record.deployment_id}' at {record.host}:{record.port}"
    status = response.status_code
    body = _scrub(_body(response), secrets)
    if 200 <= status < 300:
        if isinstance(body, str):
            raise DeploymentError(f"{what} answered {call} with something that is not JSON; is it a cagents "
                                  "deployment?", status=status, detail=body[:500])
        return body
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):  # FastAPI echoes each bad value as `input`: never pass it on
        detail = [{k: v for k, v in item.items() if k != "input"} if isinstance(item, dict) else item
                  for item in detail]
    if status in _NOT_PASSED_THROUGH:
        raise DeploymentError(f"{what} {_NOT_PASSED_THROUGH[status]} ({call} answered {status})",
                              status=status, detail=detail)
    if 400 <= status < 500:
        error = DeploymentError(f"{what} refused {call} ({status}): {_summary(detail)}", status=status,
                                detail=detail)
        error.http_status = status  # the caller's request was wrong: keep the service's status
        raise error
    raise DeploymentError(f"{what} failed on {call} ({status}): {_summary(detail)}; see the service's log",
                          status=status, detail=detail)


async def fetch_schema(record: DeploymentRecord) -> dict[str, Any]:
    """The deployment's `GET /schema`: its workflow's input and output JSON Schema."""
    import httpx

    what = f"deployment '{record.deployment_id}'"
    with _reaching(what, record.host, record.port, "GET /schema", SCHEMA_TIMEOUT):
        async with httpx.AsyncClient(timeout=SCHEMA_TIMEOUT, trust_env=False) as client:
            response = await client.get(_url(record.host, record.port, "/schema"), headers=_headers(record))
    return _answer(response, record, "GET /schema", [])  # type: ignore[no-any-return]


def _refuse_dead(record: DeploymentRecord, hint: str = ", or send force: true to try anyway") -> None:
    if not record.is_alive:
        raise ConflictError(
            f"deployment '{record.deployment_id}' is dead: its last heartbeat was "
            f"{record.heartbeat_age_seconds:.0f} s ago, longer than its TTL of {record.ttl_seconds} s; "
            f"start it again (it registers itself){hint}"
        )


async def execute_on(record: DeploymentRecord, inputs: dict[str, Any], env: dict[str, str] | None = None,
                     *, async_: bool = False, force: bool = False) -> dict[str, Any]:
    """`POST /execute` on the deployment; `env` goes with this request only and is never stored.

    A dead deployment (no heartbeat within its TTL) is refused (409) unless `force`.
    """
    import httpx

    if not force:
        _refuse_dead(record)
    env = dict(env or {})
    payload: dict[str, Any] = {"inputs": inputs, "env": env}
    if async_:
        payload["async"] = True
    secrets = [value for value in env.values() if isinstance(value, str) and len(value) >= 4]
    timeout = httpx.Timeout(EXECUTE_TIMEOUT, connect=HEALTH_TIMEOUT)
    what = f"deployment '{record.deployment_id}'"
    with _reaching(what, record.host, record.port, "POST /execute", EXECUTE_TIMEOUT):
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            response = await client.post(_url(record.host, record.port, "/execute"), json=payload,
                                         headers=_headers(record))
    result = _answer(response, record, "POST /execute", secrets)
    return result if isinstance(result, dict) else {"result": result}


async def adeployment_schema(workbench: Workbench, deployment_id: str) -> dict[str, Any]:
    """The schema of a registered deployment (404 for an unknown id)."""
    record = await asyncio.to_thread(workbench.db.deployments.get, deployment_id)
    return await fetch_schema(record)


async def aexecute_deployment(workbench: Workbench, deployment_id: str, inputs: dict[str, Any],
                              env: dict[str, str] | None = None, *, async_: bool = False,
                              force: bool = False) -> dict[str, Any]:
    """Execute on a registered deployment (404 for an unknown id, 409 when it is dead)."""
    record = await asyncio.to_thread(workbench.db.deployments.get, deployment_id)
    return await execute_on(record, inputs, env, async_=async_, force=force)


async def resume_on(record: DeploymentRecord, execution_id: str, values: dict[str, Any] | None,
                    env: dict[str, str] | None = None) -> dict[str, Any]:
    """`POST /executions/{id}/resume` on the deployment that ran the execution: the run goes on
    there and is reported back here. Refusals keep the service's status (409, 422)."""
    from urllib.parse import quote

    import httpx

    _refuse_dead(record, "")
    env = dict(env or {})
    payload: dict[str, Any] = {"env": env} if values is None else {"values": values, "env": env}
    secrets = [value for value in env.values() if isinstance(value, str) and len(value) >= 4]
    call = f"POST /executions/{execution_id}/resume"
    what = f"deployment '{record.deployment_id}'"
    with _reaching(what, record.host, record.port, call, SCHEMA_TIMEOUT):
        async with httpx.AsyncClient(timeout=SCHEMA_TIMEOUT, trust_env=False) as client:
            response = await client.post(
                _url(record.host, record.port, f"/executions/{quote(execution_id, safe='')}/resume"),
                json=payload, headers=_headers(record))
    if response.status_code == 404:
        detail = _body(response)
        detail = detail.get("detail") if isinstance(detail, dict) else detail
        why = ("runs a cagents version without resume; deploy it again with this version"
               if detail == "Not Found" else
               f"does not know execution {execution_id} (is its database another replica's, or new?)")
        raise DeploymentError(f"{what} at {record.host}:{record.port} {why} ({call} answered 404)",
                              status=404, detail=detail)
    result = _answer(response, record, call, secrets)
    return result if isinstance(result, dict) else {"result": result}


async def aresume_deployed(workbench: Workbench, execution: ExecutionRecord, values: dict[str, Any] | None,
                           env: dict[str, str] | None = None) -> dict[str, Any]:
    """Resume an execution a deployment reported, on that deployment (it must be registered)."""
    deployment_id = execution.deployment_id
    assert deployment_id is not None
    try:
        record = await asyncio.to_thread(workbench.db.deployments.get, deployment_id)
    except NotFoundError:
        raise ConflictError(
            f"execution {execution.id} ran on deployment '{deployment_id}', which is not registered here "
            "(any more); start that service again (it registers itself), then resume the execution"
        ) from None
    return await resume_on(record, execution.id, values, env)
