"""Workflows as services: the served app, self-registration, reporting, deploy targets.

`cagents.deploy` depends on the language and the engine only at import time; FastAPI,
uvicorn and httpx load inside the modules that need them.
"""

from __future__ import annotations

from cagents.deploy.target import DeployedService, DeployTarget, get_target, target_names

__all__ = ["DeployTarget", "DeployedService", "get_target", "target_names"]
