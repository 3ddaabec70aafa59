"""The REST API of the workbench under `{base_url}cagents/api/`, one module per resource.

Each module lists its routes in `ROUTES` (patterns relative to the API prefix); docs/rest-api.md
describes them and a test keeps the two in step.
"""

from __future__ import annotations

from typing import Any

from cagents.jupyter.handlers._base import API_PREFIX, ApiHandler, Body, NotFoundRoute

__all__ = ["API_PREFIX", "ApiHandler", "Body", "api_routes"]

_MODULES = (
    "info", "workflows", "executions", "runs", "events", "deployments", "deployment_reports", "chat",
    "chat_actions",
)


def api_routes() -> list[tuple[Any, ...]]:
    """Every route, prefixed, the JSON 404 for unknown API paths last."""
    import importlib

    routes: list[tuple[Any, ...]] = []
    for name in _MODULES:
        module = importlib.import_module(f"cagents.jupyter.handlers.{name}")
        for pattern, handler, *rest in module.ROUTES:
            routes.append((API_PREFIX + pattern, handler, *rest))
    routes.append((API_PREFIX + "(.*)", NotFoundRoute))
    return routes
