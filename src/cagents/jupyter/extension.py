"""The `cagents` jupyter_server extension: registers the workbench's handlers, stops what it started."""

from __future__ import annotations

import asyncio

from jupyter_server.extension.application import ExtensionApp

from cagents.jupyter.mlflow_proxy import (
    PROXY_PATH,
    PROXY_ROOT,
    MlflowProxyHandler,
    MlflowRootRedirect,
    MlflowUpstream,
)

__all__ = ["CagentsExtension"]


class CagentsExtension(ExtensionApp):
    """Serves the managed MLflow UI under `{base_url}cagents/mlflow/`, so it can be framed same-origin."""

    name = "cagents"
    load_other_extensions = True

    def initialize_settings(self) -> None:
        # The store is read from the environment on the first request, not here, so a server
        # configured before the environment is final still proxies the right store.
        self.mlflow = MlflowUpstream()

    def initialize_handlers(self) -> None:
        self.handlers.extend([
            (PROXY_ROOT, MlflowRootRedirect),
            (PROXY_PATH, MlflowProxyHandler, {"upstream": self.mlflow}),
        ])

    async def stop_extension(self) -> None:
        """Stop the MLflow server this extension started; stopping takes seconds, so off the loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.mlflow.stop)
