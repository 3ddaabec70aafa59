"""How one workflow service is configured: bind address, tokens, workbench link, timeouts.

`cagents serve` fills a `ServiceConfig` from its options and the environment; deploy
targets pass the same values as options and environment variables of the process or
container, never baked into a file or an image.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from cagents.errors import CagentsError

__all__ = ["SERVICE_TOKEN_ENV", "ServiceConfig", "check_deployment_id", "default_deployment_id"]

#: The bearer token clients of a service must send (an option would show in `ps`).
SERVICE_TOKEN_ENV = "CAGENTS_SERVICE_TOKEN"
_WILDCARD = ("", "0.0.0.0", "::", "[::]")
_RESERVED = ("cleanup",)


def check_deployment_id(value: str) -> str:
    """A deployment id the workbench accepts: 1-128 characters, no `/`, not a route name."""
    if not value or len(value) > 128 or "/" in value or value.strip() != value or value in _RESERVED:
        raise CagentsError(
            f"deployment id {value!r} cannot be used: use 1-128 characters without '/' or spaces "
            f"at the ends, and not {', '.join(_RESERVED)} (e.g. my-workflow-1)"
        )
    return value


def default_deployment_id(workflow: str, port: int) -> str:
    """`<workflow>-<host>-<port>`: the same id after a restart, so it registers over itself."""
    raw = f"{workflow}-{socket.gethostname()}-{port}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", raw)[:128]


@dataclass
class ServiceConfig:
    """Everything `cagents serve` needs besides the workflow itself."""

    spec_path: str
    host: str = "127.0.0.1"
    port: int = 8080
    #: Bearer token clients must send to /schema, /execute and /executions (None: open).
    token: str | None = None
    deployment_id: str | None = None
    name: str | None = None
    #: Seconds a synchronous /execute waits before it answers 202 with the execution id.
    timeout: float = 60.0
    #: Seconds a stopping service waits for running executions before it cancels them.
    grace: float = 30.0
    #: The workbench to register with and report to (`CAGENTS_DASHBOARD_URL`).
    dashboard_url: str | None = None
    #: The workbench's deployment token (`CAGENTS_DEPLOYMENT_TOKEN`).
    deployment_token: str | None = None
    ttl_seconds: int = 60
    heartbeat_interval: float | None = None
    #: The host name the workbench should call (default: the bind address, or this host's
    #: name when bound to all interfaces).
    advertise_host: str | None = None
    #: The service's own workbench home (None: `CAGENTS_HOME` / the default).
    home: Path | None = None
    #: Which deploy target started it (`process`, `docker`), or `serve` by hand.
    target: str = "serve"
    access_log: bool = False

    def __post_init__(self) -> None:
        if self.deployment_id is not None:
            check_deployment_id(self.deployment_id)
        if not 0 <= int(self.port) <= 65535:
            raise CagentsError(f"--port {self.port} is not a port number (0-65535)")
        if self.timeout <= 0:
            raise CagentsError(f"--timeout {self.timeout} must be a positive number of seconds")
        if self.ttl_seconds < 1:
            raise CagentsError(f"--ttl {self.ttl_seconds} must be at least 1 second")

    @classmethod
    def from_env(cls, spec_path: str, **options: object) -> ServiceConfig:
        """Options given, completed from the environment (workbench link, tokens)."""
        from cagents.app.deployment_token import TOKEN_ENV
        from cagents.deploy.registration import DASHBOARD_ENV

        values = {key: value for key, value in options.items() if value is not None}
        values.setdefault("token", os.environ.get(SERVICE_TOKEN_ENV) or None)
        values.setdefault("dashboard_url", os.environ.get(DASHBOARD_ENV) or None)
        values.setdefault("deployment_token", os.environ.get(TOKEN_ENV) or None)
        return cls(spec_path, **values)  # type: ignore[arg-type]

    def default_id(self, workflow: str) -> str:
        return default_deployment_id(workflow, self.port)

    def advertised_host(self) -> str:
        if self.advertise_host:
            return self.advertise_host
        if self.host in _WILDCARD:
            return socket.gethostname()
        return self.host
