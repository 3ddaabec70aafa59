"""The HTTP surface of a workflow service (FastAPI): routes, bearer auth, error shapes.

Request bodies are parsed by hand rather than by a generated pydantic model: the engine
checks inputs against the workflow's state anyway, and its messages name each field; the
OpenAPI document still shows the workflow's input schema. Imported only to serve, so FastAPI
is imported at the top (its signatures are read at run time).
"""

from __future__ import annotations

import hmac
import json
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cagents.deploy.service import Refused, field_errors
from cagents.errors import InputError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from cagents.deploy.service import WorkflowService

__all__ = ["build_app"]

_BODY_FIELDS = {"inputs", "env", "async"}


def _loads(raw: bytes) -> Any:
    try:
        import orjson

        return orjson.loads(raw)
    except ImportError:  # pragma: no cover - orjson is a dependency
        return json.loads(raw)


def _body(raw: bytes, query_async: bool) -> tuple[dict[str, Any], dict[str, str], bool]:
    """`inputs`, `env` and `async` of an /execute body; a 422 naming the field otherwise."""
    if not raw.strip():
        raise Refused(422, field_errors({"inputs": "Field required"}, ("body",)))
    try:
        data = _loads(raw)
    except ValueError as exc:
        raise Refused(422, [{"loc": ["body"], "msg": f"JSON decode error: {exc}", "type": "json_invalid"}],
                      "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Refused(422, [{"loc": ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type"}],
                      f"the request body must be an object, got {type(data).__name__}")
    unknown = {name: "Extra inputs are not permitted (use inputs, env, async)" for name in data
               if name not in _BODY_FIELDS}
    if unknown:
        raise Refused(422, field_errors(unknown, ("body",)))
    inputs = data.get("inputs", {})
    if not isinstance(inputs, dict):
        raise Refused(422, field_errors({"inputs": "Input should be a valid dictionary"}, ("body",)))
    env = data.get("env") or {}
    if not isinstance(env, dict):
        raise Refused(422, field_errors({"env": "Input should be a valid dictionary"}, ("body",)))
    bad = {name: "Input should be a valid string" for name, value in env.items() if not isinstance(value, str)}
    if bad:
        raise Refused(422, field_errors(bad, ("body", "env")))
    run_async = data.get("async", query_async)
    if not isinstance(run_async, bool):
        raise Refused(422, field_errors({"async": "Input should be a valid boolean"}, ("body",)))
    return inputs, env, run_async or query_async


def _resume_body(raw: bytes) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """`values` (None: continue an interrupted run) and `env` of a resume body; a 422 otherwise."""
    data = _loads(raw) if raw.strip() else {}
    if not isinstance(data, dict):
        raise Refused(422, [{"loc": ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type"}],
                      f"the request body must be an object, got {type(data).__name__}")
    unknown = {name: "Extra inputs are not permitted (use values, env)" for name in data
               if name not in ("values", "env")}
    if unknown:
        raise Refused(422, field_errors(unknown, ("body",)))
    values = data.get("values")
    if values is not None and not isinstance(values, dict):
        raise Refused(422, field_errors({"values": "Input should be a valid dictionary"}, ("body",)))
    env = data.get("env") or {}
    if not isinstance(env, dict):
        raise Refused(422, field_errors({"env": "Input should be a valid dictionary"}, ("body",)))
    bad = {name: "Input should be a valid string" for name, value in env.items() if not isinstance(value, str)}
    if bad:
        raise Refused(422, field_errors(bad, ("body", "env")))
    return values, env


def _execute_openapi(service: WorkflowService) -> dict[str, Any]:
    """The request body of /execute as the workflow declares it."""
    schema = {
        "type": "object", "required": ["inputs"], "additionalProperties": False,
        "properties": {
            "inputs": service.spec.input_schema(),
            "env": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "secrets for this one run (API keys); never stored or logged"},
            "async": {"type": "boolean", "default": False,
                      "description": "answer 202 with the execution id at once"},
        },
    }
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def build_app(service: WorkflowService) -> FastAPI:
    """The app of one service; its lifespan starts and stops `service`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    spec = service.spec
    app = FastAPI(
        title=f"{spec.name} (cagents workflow service)",
        description=spec.config.flow.description or f"The workflow `{spec.name}` served by cagents.",
        version=spec.config.flow.version or "1", lifespan=lifespan,
    )
    bearer = HTTPBearer(auto_error=False, description="the service token (`cagents serve --token`)")
    expected = (service.config.token or "").encode()

    def authorized(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:  # noqa: B008
        if credentials is None:
            raise Refused(401, "this service needs 'Authorization: Bearer TOKEN' (the token it was started with)")
        if not hmac.compare_digest(credentials.credentials.encode(), expected):
            raise Refused(401, "the bearer token is not this service's token")

    # Without a token the routes have no auth dependency at all (it costs time per request).
    guarded = [Depends(authorized)] if expected else []

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> JSONResponse:
        body: dict[str, Any] = {"detail": error.detail}
        if error.message:
            body["message"] = error.message
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse(body, status_code=error.status, headers=headers)

    @app.get("/health", summary="Whether the service is up (no token needed)")
    async def health() -> JSONResponse:
        body = service.health()
        return JSONResponse(body, status_code=503 if service.closing else 200)

    @app.get("/schema", summary="Input and output JSON Schema of the workflow",
             dependencies=guarded)
    async def schema() -> dict[str, Any]:
        return service.schema()

    @app.post(
        "/execute", summary="Run the workflow", dependencies=guarded,
        openapi_extra=_execute_openapi(service),
        responses={202: {"description": "accepted: still running; poll /executions/{id}"},
                   422: {"description": "invalid inputs, one item per field"}},
    )
    async def execute(request: Request, query_async: bool = Query(False, alias="async")) -> JSONResponse:
        inputs, env, run_async = _body(await request.body(), query_async)
        key = request.headers.get("Idempotency-Key")
        execution_id = service.keys.get(key) if key else None
        if execution_id is None:
            try:
                execution_id = service.launch(inputs, env)
            except InputError as error:
                raise Refused(422, field_errors(error.problems), str(error)) from None
            service.remember(key, execution_id)
        if not run_async:
            result = await service.wait(execution_id, service.config.timeout)
            if result is not None:
                return JSONResponse(service.result_body(result))
            if execution_id not in service.tasks:  # a repeated key of a finished run
                return JSONResponse(await service.execution(execution_id))
        location = f"/executions/{execution_id}"
        return JSONResponse({"execution_id": execution_id, "deployment_id": service.deployment_id,
                             "status": "running", "url": location}, status_code=202,
                            headers={"Location": location})

    @app.get("/executions/{execution_id}", summary="Status and result of an execution",
             dependencies=guarded)
    async def execution(execution_id: str) -> dict[str, Any]:
        return await service.execution(execution_id)

    @app.post(
        "/executions/{execution_id}/resume", summary="Answer a waiting human node, or continue an interrupted run",
        dependencies=guarded, status_code=202,
        openapi_extra={"requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False,
            "properties": {"values": {"type": "object", "description": "the waiting node's outputs"},
                           "env": {"type": "object", "additionalProperties": {"type": "string"}}}}}}}},
        responses={409: {"description": "not waiting or interrupted"}, 404: {"description": "unknown id"},
                   422: {"description": "values that do not fit the waiting node, one item per field"}},
    )
    async def resume(execution_id: str, request: Request) -> JSONResponse:
        try:
            values, env = _resume_body(await request.body())
        except ValueError as exc:
            raise Refused(422, [{"loc": ["body"], "msg": f"JSON decode error: {exc}", "type": "json_invalid"}],
                          "the request body is not valid JSON") from None
        await service.resume(execution_id, values, env)
        location = f"/executions/{execution_id}"
        return JSONResponse({"execution_id": execution_id, "deployment_id": service.deployment_id,
                             "status": "running", "url": location}, status_code=202,
                            headers={"Location": location})

    app.state.service = service
    return app
