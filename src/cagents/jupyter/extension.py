"""The `cagents` jupyter_server extension: hosts the workbench, its REST API and the MLflow UI."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import IOLoop
from traitlets import Unicode

from cagents.jupyter.handlers import api_routes
from cagents.jupyter.handlers._base import RUNTIME_KEY
from cagents.jupyter.mlflow_proxy import (
    PROXY_PATH,
    PROXY_ROOT,
    MlflowProxyHandler,
    MlflowRootRedirect,
    MlflowUpstream,
)
from cagents.jupyter.runtime import ServerRuntime

__all__ = ["BASE_URL_ENV", "CagentsExtension"]

#: The Jupyter server's base URL, for the kernels it starts.
BASE_URL_ENV = "CAGENTS_JUPYTER_BASE_URL"


class CagentsExtension(ExtensionApp):
    """REST API under `{base_url}cagents/api/`, the managed MLflow UI under `{base_url}cagents/mlflow/`."""

    name = "cagents"
    load_other_extensions = True

    home = Unicode(
        "", config=True,
        help="The workbench home (database, deployment token); default $CAGENTS_HOME, else ~/.cagents.",
    )
    db_url = Unicode(
        "", config=True,
        help="SQLAlchemy URL of the app database; default $CAGENTS_DB_URL, else SQLite in the home.",
    )

    def initialize_settings(self) -> None:
        from cagents.store.home import workbench_home

        home = Path(self.home).expanduser() if self.home else workbench_home()
        db_url = self.db_url or os.environ.get("CAGENTS_DB_URL", "").strip() or None
        self.runtime = ServerRuntime(home, db_url)
        # Opened once the loop runs: a thread started now would compete with the rest of the
        # server's start-up for the GIL (measured: +0.2-0.3 s CPU before the server answers).
        IOLoop.current().add_callback(self.runtime.open_in_background)
        self.settings[RUNTIME_KEY] = self.runtime
        # Kernels started by this server inherit it, so `%cagents mlflow` links the right path.
        os.environ[BASE_URL_ENV] = self.serverapp.base_url
        # `cagents deploy` from a terminal (or a kernel) finds this server as the registry its
        # services register with; they authenticate with the deployment token.
        IOLoop.current().add_callback(self.runtime.publish_registry, self.serverapp.connection_url)
        # The store is read from the environment on the first request, not here, so a server
        # configured before the environment is final still proxies the right store.
        self.mlflow = MlflowUpstream()
        self.settings["cagents_mlflow"] = self.mlflow

    def initialize_handlers(self) -> None:
        self.handlers.extend(api_routes())
        self.handlers.extend([
            (PROXY_ROOT, MlflowRootRedirect),
            (PROXY_PATH, MlflowProxyHandler, {"upstream": self.mlflow}),
        ])

    async def stop_extension(self) -> None:
        """Cancel live runs, close the workbench, stop the MLflow server this extension started."""
        self.runtime.unpublish_registry()
        await self.runtime.aclose()
        await asyncio.get_running_loop().run_in_executor(None, self.mlflow.stop)
