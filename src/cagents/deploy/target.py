"""The interface every deploy target implements (`process`, `docker`), and their registry.

A target starts the served app for one workflow somewhere (a local subprocess, a container),
returns a `DeployedService` describing where it runs, and can stop it and read its logs
later from the local record (`cagents.deploy.local`). Env values are passed at run time,
never baked into an image or a file.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from cagents.errors import DeploymentError

__all__ = ["TARGETS", "DeployTarget", "DeployedService", "get_target", "target_names", "url_host"]


@dataclass
class DeployedService:
    """Where a deployed workflow service runs; also the content of its local record file."""

    deployment_id: str
    name: str
    target: str
    url: str
    host: str
    port: int
    pid: int | None = None
    container_id: str | None = None
    image: str | None = None
    image_size_bytes: int | None = None
    log_path: str | None = None
    workflow: str | None = None
    spec_path: str | None = None
    started_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeployedService:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@runtime_checkable
class DeployTarget(Protocol):
    """Starts, stops and reads the logs of a workflow service (see module docstring)."""

    name: str

    def deploy(
        self,
        spec_path: Path,
        *,
        deployment_id: str,
        name: str,
        host: str,
        port: int,
        env: Mapping[str, str],
        dashboard_url: str | None,
        token: str | None,
    ) -> DeployedService:
        """Start the service and return once `GET /health` answers; raise DeploymentError
        with the reason (and the log tail) when it cannot start.

        The service is `cagents serve FILE --host HOST --port PORT --deployment-id ID --name NAME
        --target TARGET`. `env` goes into its environment at run time (API keys; a bearer
        token for its clients as `CAGENTS_SERVICE_TOKEN`); with `dashboard_url`, it gets
        `CAGENTS_DASHBOARD_URL` and `token` (the workbench's deployment token) as
        `CAGENTS_DEPLOYMENT_TOKEN`, so it registers itself and reports its executions. A port
        already in use is a DeploymentError before anything starts.
        """
        ...

    def stop(self, record: DeployedService) -> None:
        """Stop the service; no error when it is already gone."""
        ...

    def logs(self, record: DeployedService, tail: int | None = None) -> str:
        """The service's log text, the last `tail` lines when given."""
        ...

    # Optional: `running(record) -> bool | None`, whether the service still runs (None: unknown);
    # `cagents deployments list` shows it next to the heartbeat health.


#: Built-in targets: name -> "module:attribute" of a zero-argument factory or class.
TARGETS: dict[str, str] = {
    "process": "cagents.deploy.process_target:ProcessTarget",
    "docker": "cagents.deploy.docker_target:DockerTarget",
}


def target_names() -> list[str]:
    return sorted(TARGETS)


def get_target(name: str) -> DeployTarget:
    """The target called `name`; a DeploymentError naming the known targets otherwise."""
    spec = TARGETS.get(name)
    if spec is None:
        known = ", ".join(target_names())
        raise DeploymentError(f"unknown deploy target '{name}' (choose one of: {known})")
    module_name, _, attr = spec.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    target: DeployTarget = factory()
    return target


def url_host(host: str) -> str:
    """The host part of a URL that reaches a service bound to `host` from this machine
    (a wildcard bind is reached on loopback; IPv6 goes in brackets)."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host in ("::", "[::]"):
        return "[::1]"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
