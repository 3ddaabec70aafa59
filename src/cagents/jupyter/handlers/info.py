"""`GET health` and `GET info`: is the workbench up, and what does it run with."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from cagents.jupyter.handlers._base import ApiHandler

__all__ = ["ROUTES"]


class HealthHandler(ApiHandler):
    """Up when the database answers."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        workbench = await self.workbench()
        await self.blocking(workbench.db.executions.workflows)
        self.send_json({"status": "ok"})


class InfoHandler(ApiHandler):
    """Versions, the LLM provider configured (never a key), MLflow and database locations."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        from cagents.app.info import workbench_info

        workbench = await self.workbench()
        proxy = url_path_join(self.base_url, "cagents/mlflow/")
        info = await self.blocking(
            workbench_info, database_url=str(workbench.db.url), home=str(self.runtime.home),
            mlflow_proxy_path=proxy,
        )
        info["api"] = url_path_join(self.base_url, "cagents/api/")
        self.send_json(info)


ROUTES = [
    ("health", HealthHandler),
    ("info", InfoHandler),
]
