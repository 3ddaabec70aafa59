"""Deploy a workflow text as a service (local process or container), as `cagents deploy` does.

The chat's Deploy button and any other host with YAML in hand call `deploy_workflow`: it
validates the text, writes it under the home's `deployments/` folder (owner-only), starts
the target, records the deployment locally (`cagents deployments list|logs|stop`) and in
the workbench's registry. Env values reach the service's environment only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cagents.errors import RequestError

if TYPE_CHECKING:
    from cagents.app.workbench import Workbench

__all__ = ["TARGETS", "deploy_workflow", "find_registry", "free_port"]

TARGETS = ("process", "docker")


def free_port(host: str) -> int:
    from cagents.deploy.serve_main import bind

    sock = bind(host, 0)
    try:
        return int(sock.getsockname()[1])
    finally:
        sock.close()


def find_registry(explicit: str | None = None) -> tuple[str | None, str | None]:
    """The registry services register with (`explicit`, else `$CAGENTS_DASHBOARD_URL`, else the
    one running for this home: JupyterLab's server or `cagents deployments start`) and the
    deployment token they present; (None, None) when none is known."""
    from cagents.app.deployment_token import TOKEN_ENV, deployment_token
    from cagents.deploy.registration import DASHBOARD_ENV
    from cagents.deploy.registry_marker import discover
    from cagents.store.home import workbench_home

    url = explicit or os.environ.get(DASHBOARD_ENV) or discover(workbench_home())
    if not url:
        return None, None
    return url, os.environ.get(TOKEN_ENV) or deployment_token(workbench_home())


def _write_spec(folder: Path, deployment_id: str, text: str) -> Path:
    path = folder / f"{deployment_id}.yaml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def deploy_workflow(
    workbench: Workbench,
    yaml_text: str,
    *,
    target: str,
    name: str | None = None,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    host: str = "127.0.0.1",
    dashboard_url: str | None = None,
    token: str | None = None,
    home: Path | None = None,
) -> dict[str, Any]:
    """Start the workflow as a service and answer where it runs (blocking: it waits for /health).

    With `dashboard_url` (and the workbench's deployment `token`) the service registers
    itself and reports its executions; it is also registered here at once, so it shows
    before its first heartbeat. A service that cannot start is a DeploymentError (502).
    """
    from cagents.app.deployments import register
    from cagents.app.workflows import compile_text
    from cagents.deploy import local
    from cagents.deploy.settings import check_deployment_id
    from cagents.deploy.target import get_target

    if target not in TARGETS:
        raise RequestError(f"deploy target {target!r} is not known; use one of {', '.join(TARGETS)}",
                           field="target", status=422)
    spec = compile_text(yaml_text, "<deployment>")  # an invalid workflow fails before anything starts
    name = name or spec.name
    deployment_id = check_deployment_id(local.new_deployment_id(name))
    spec_path = _write_spec(local.deployments_dir(home), deployment_id, spec.text)
    port = port or free_port(host)
    service = get_target(target)
    record = service.deploy(spec_path, deployment_id=deployment_id, name=name, host=host, port=port,
                            env=dict(env or {}), dashboard_url=dashboard_url, token=token)
    record.workflow = record.workflow or spec.name
    local.save(record, home)
    register(workbench, deployment_id=deployment_id, deployment_name=name, workflow_name=spec.name,
             host=record.host if record.host not in ("0.0.0.0", "") else "127.0.0.1", port=record.port,
             metadata={"target": target, "url": record.url, "source": "workbench"})
    return {"deployment_id": deployment_id, "url": record.url, "docs_url": f"{record.url}/docs",
            "target": target, "name": name, "workflow": spec.name, "host": record.host, "port": record.port,
            "registered_with": dashboard_url}
