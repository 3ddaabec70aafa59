"""`deployments...`: the registry of deployed services, their health, schema and execution.

Register and heartbeat are also called by the services themselves, which hold no Jupyter
credentials: they send `Authorization: Bearer DEPLOYMENT_TOKEN` (the workbench's token,
compared in constant time) and no cookies, so a valid token also stands in for XSRF.
"""

from __future__ import annotations

from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from tornado import web

from cagents.errors import RequestError
from cagents.jupyter.handlers._base import ApiHandler, Body

__all__ = ["ROUTES"]

_REGISTER_FIELDS = {"deployment_id", "deployment_name", "workflow_name", "host", "port", "ttl_seconds",
                    "capabilities", "metadata", "check_health"}
_WRONG_TOKEN = ("the bearer token is neither Jupyter's token nor this workbench's deployment token "
                "(the file deployment_token in the workbench home)")


class _ServiceCallable(ApiHandler):
    """A route a deployed service calls: the deployment token, or Jupyter's auth and XSRF."""

    _token_ok: bool | None = None
    _bearer: str | None = None

    def _deployment_token_ok(self) -> bool:
        """Whether the request carries `Authorization: Bearer <the workbench's deployment token>`."""
        if self._token_ok is None:
            from cagents.app.deployment_token import token_matches

            scheme, _, presented = self.request.headers.get("Authorization", "").strip().partition(" ")
            self._bearer = presented.strip() if scheme.lower() == "bearer" and presented.strip() else None
            self._token_ok = False
            if self._bearer is not None:
                # The token file lives in the home, which the workbench may still be creating.
                self.runtime.home.mkdir(parents=True, mode=0o700, exist_ok=True)
                self._token_ok = token_matches(self.runtime.deployment_token(), self._bearer)
        return self._token_ok

    def check_xsrf_cookie(self) -> None:
        # Containers send no cookies, so a valid token is all the proof there is; a cookie
        # (browser) request without it still needs the XSRF token.
        if self._deployment_token_ok():
            return None
        if self._bearer is not None and hasattr(self, "_jupyter_current_user") and not self.current_user:
            # Say what is wrong rather than "_xsrf argument missing" to a service with an old token.
            raise web.HTTPError(403, _WRONG_TOKEN)
        return super().check_xsrf_cookie()  # type: ignore[no-any-return]

    async def _admit(self) -> None:
        """A valid deployment token, or an authenticated user authorized to write; else 403."""
        if self._deployment_token_ok():
            return
        user = self.current_user
        if not user:
            raise web.HTTPError(403, _WRONG_TOKEN if self._bearer is not None else
                                "send Jupyter's credentials or 'Authorization: Bearer DEPLOYMENT_TOKEN'")
        action = HTTP_METHOD_TO_AUTH_ACTION[self.request.method or "POST"]
        if not await ensure_async(self.authorizer.is_authorized(self, user, action, self.auth_resource)):
            raise web.HTTPError(403, f"User is not authorized to {action} on resource: {self.auth_resource}.")


def _optional_dict(body: Body, name: str) -> dict[str, Any] | None:
    value: dict[str, Any] | None = body.get(name, dict, None)
    return value


class DeploymentsHandler(_ServiceCallable):
    """`GET`: the deployments with health; `POST`: register one (by hand or by the service)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        from cagents.app.deployments import list_deployments

        raw = self.query("alive")
        if raw not in (None, "true", "false"):
            raise RequestError(f"query argument 'alive' must be true or false, got {raw!r}", field="alive")
        alive = None if raw is None else raw == "true"
        workbench = await self.workbench()
        self.send_json(await self.blocking(list_deployments, workbench, alive=alive))

    @allow_unauthenticated
    async def post(self) -> None:
        from cagents.app.deployments import aregister

        await self._admit()
        body = self.body(allowed=_REGISTER_FIELDS)
        fields = {
            "deployment_id": body.get("deployment_id", str, max_len=128),
            "deployment_name": body.get("deployment_name", str, max_len=200),
            "workflow_name": body.get("workflow_name", str, max_len=200),
            "host": body.get("host", str, max_len=255),
            "port": body.get("port", int),
            "ttl_seconds": body.get("ttl_seconds", int, 60),
            "capabilities": _optional_dict(body, "capabilities"),
            "metadata": _optional_dict(body, "metadata"),
        }
        check_health = body.get("check_health", bool, False)
        record = await aregister(await self.workbench(), check_health=check_health, **fields)
        self.send_json(record, 201)


class HeartbeatHandler(_ServiceCallable):
    """The service is alive; an unknown id is a 404 and the service must register again."""

    @allow_unauthenticated
    async def post(self, deployment_id: str) -> None:
        from cagents.app.deployments import heartbeat

        await self._admit()
        self.body(allowed=set())
        workbench = await self.workbench()
        self.send_json(await self.blocking(heartbeat, workbench, deployment_id))


class CleanupHandler(ApiHandler):
    """Remove the deployments whose heartbeat is older than their TTL."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        from cagents.app.deployments import cleanup

        self.body(allowed=set())
        workbench = await self.workbench()
        self.send_json(await self.blocking(cleanup, workbench))


class DeploymentHandler(ApiHandler):
    """One deployment: read it, or deregister it."""

    @web.authenticated
    @authorized
    async def get(self, deployment_id: str) -> None:
        from cagents.app.deployments import get_deployment

        workbench = await self.workbench()
        self.send_json(await self.blocking(get_deployment, workbench, deployment_id))

    @web.authenticated
    @authorized
    async def delete(self, deployment_id: str) -> None:
        from cagents.app.deployments import deregister

        workbench = await self.workbench()
        self.send_json(await self.blocking(deregister, workbench, deployment_id))


class SchemaHandler(ApiHandler):
    """The deployment's own `GET /schema`, passed through."""

    @web.authenticated
    @authorized
    async def get(self, deployment_id: str) -> None:
        from cagents.app.deployments import adeployment_schema

        self.send_json(await adeployment_schema(await self.workbench(), deployment_id))


class ExecuteHandler(ApiHandler):
    """`POST /execute` on the deployment with `inputs` and this request's `env` secrets."""

    @web.authenticated
    @authorized
    async def post(self, deployment_id: str) -> None:
        from cagents.app.deployments import aexecute_deployment

        body = self.body(allowed={"inputs", "env", "async", "force"})
        inputs: dict[str, Any] = body.get("inputs", dict, {})
        env = body.strings("env")
        async_ = body.get("async", bool, False)
        force = body.get("force", bool, False)
        result = await aexecute_deployment(await self.workbench(), deployment_id, inputs, env,
                                           async_=async_, force=force)
        self.send_json(result, 202 if async_ else 200)


# `deployments/cleanup` comes before `deployments/{id}`: tornado takes the first pattern that
# matches, and `cleanup` is a reserved id, so no deployment hides behind it.
ROUTES = [
    ("deployments", DeploymentsHandler),
    ("deployments/cleanup", CleanupHandler),
    ("deployments/(?P<deployment_id>[^/]+)/heartbeat", HeartbeatHandler),
    ("deployments/(?P<deployment_id>[^/]+)/schema", SchemaHandler),
    ("deployments/(?P<deployment_id>[^/]+)/execute", ExecuteHandler),
    ("deployments/(?P<deployment_id>[^/]+)", DeploymentHandler),
]
