"""The workbench panels as notebook widgets: the same front-end modules the sidebar shows.

Each widget is an `anywidget.AnyWidget` whose `_esm` is a panel bundle shipped in the wheel
(`cagents/labextension/panels/`); the panel talks to the REST API from the browser, so the
kernel only holds a few traits. Importing this package is cheap; anywidget loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cagents.jupyter.widgets.chat import ChatWidget
    from cagents.jupyter.widgets.deployments import DeploymentsWidget
    from cagents.jupyter.widgets.executions import ExecutionsWidget
    from cagents.jupyter.widgets.mlflow import MlflowWidget

__all__ = ["ChatWidget", "DeploymentsWidget", "ExecutionsWidget", "MlflowWidget", "panel_file"]

_LAZY = {
    "ChatWidget": "cagents.jupyter.widgets.chat",
    "DeploymentsWidget": "cagents.jupyter.widgets.deployments",
    "ExecutionsWidget": "cagents.jupyter.widgets.executions",
    "MlflowWidget": "cagents.jupyter.widgets.mlflow",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "panel_file":
        from cagents.jupyter.widgets._bundles import panel_file

        return panel_file
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
