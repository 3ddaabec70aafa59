"""`cagents deployments start`: the deployment registry without JupyterLab (headless servers).

The same routes as the workbench's REST API under `/cagents/api/` (register, heartbeat,
list, get, deregister, cleanup, execution reports), calling the same `cagents.app`
functions; every route but `/health` needs `Authorization: Bearer DEPLOYMENT_TOKEN`.
While it runs, `$CAGENTS_HOME/registry.json` tells `cagents deploy` where it is.
"""

from __future__ import annotations

import asyncio
import hmac
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from cagents.app.request_body import parse_body
from cagents.deploy.registry_marker import REGISTRY_FILE, discover, publish, unpublish
from cagents.errors import CagentsError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from cagents.app.workbench import Workbench

__all__ = ["REGISTRY_FILE", "create_registry_app", "discover"]


_REGISTER = {"deployment_id": str, "deployment_name": str, "workflow_name": str, "host": str, "port": int,
             "ttl_seconds": int, "capabilities": dict, "metadata": dict, "check_health": bool}
_REQUIRED = ("deployment_id", "deployment_name", "workflow_name", "host", "port")
def create_registry_app(home: Path, *, url: str | None = None) -> FastAPI:
    """The registry app of the workbench at `home` (its database and deployment token)."""
    from cagents.app import deployments as registry
    from cagents.app.deployment_token import deployment_token
    from cagents.app.reports import report_execution

    home = Path(home)
    home.mkdir(parents=True, mode=0o700, exist_ok=True)
    token = deployment_token(home).encode()
    opened: dict[str, Workbench] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from cagents.app import Workbench

        opened["wb"] = await asyncio.to_thread(Workbench.open, home)
        if url:
            publish(home, url)
        try:
            yield
        finally:
            if url:
                unpublish(home)
            await asyncio.to_thread(opened.pop("wb").close)

    app = FastAPI(title="cagents deployment registry", lifespan=lifespan,
                  description="Register, heartbeat and report executions of deployed workflows.")

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Any) -> Any:
        if request.url.path.startswith("/cagents/api/") and request.url.path != "/cagents/api/health":
            scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), token):
                return JSONResponse({"error": "HTTPError", "status": 403, "message": (
                    "send 'Authorization: Bearer DEPLOYMENT_TOKEN' (the file deployment_token in "
                    f"{home})")}, status_code=403)
        return await call_next(request)

    @app.exception_handler(CagentsError)
    async def cagents_error(request: Request, error: CagentsError) -> JSONResponse:
        body = error.to_dict()
        body.setdefault("status", error.http_status)
        return JSONResponse(body, status_code=error.http_status)

    def workbench() -> Workbench:
        return opened["wb"]

    @app.get("/cagents/api/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok"}

    @app.get("/cagents/api/deployments")
    async def list_all(alive: bool | None = None) -> JSONResponse:
        return JSONResponse(await asyncio.to_thread(registry.list_deployments, workbench(), alive=alive))

    @app.post("/cagents/api/deployments")
    async def register(request: Request) -> JSONResponse:
        fields = parse_body(await request.body()).fields(_REGISTER, _REQUIRED)
        check = fields.pop("check_health", False)
        return JSONResponse(await registry.aregister(workbench(), check_health=check, **fields), 201)

    @app.post("/cagents/api/deployments/cleanup")
    async def cleanup() -> JSONResponse:
        return JSONResponse(await asyncio.to_thread(registry.cleanup, workbench()))

    @app.post("/cagents/api/deployments/{deployment_id}/heartbeat")
    async def heartbeat(deployment_id: str) -> JSONResponse:
        return JSONResponse(await asyncio.to_thread(registry.heartbeat, workbench(), deployment_id))

    @app.post("/cagents/api/deployments/{deployment_id}/executions")
    async def report(deployment_id: str, request: Request) -> JSONResponse:
        body = parse_body(await request.body()).fields({"execution": dict, "states": list}, ("execution",))
        result = await asyncio.to_thread(report_execution, workbench(), deployment_id, body["execution"],
                                         body.get("states", []))
        return JSONResponse(result, 201 if result["created"] else 200)

    @app.get("/cagents/api/deployments/{deployment_id}")
    async def get_one(deployment_id: str) -> JSONResponse:
        return JSONResponse(await asyncio.to_thread(registry.get_deployment, workbench(), deployment_id))

    @app.delete("/cagents/api/deployments/{deployment_id}")
    async def deregister(deployment_id: str) -> JSONResponse:
        return JSONResponse(await asyncio.to_thread(registry.deregister, workbench(), deployment_id))

    return app
