"""`cagents deployments start|list|cleanup|stop|logs`: the registry and this machine's services."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cagents.errors import CagentsError, NotFoundError

if TYPE_CHECKING:
    from cagents.deploy.target import DeployedService

HELP = "the deployment registry; list, stop and read logs of services"
DESCRIPTION = """\
  cagents deployments start [--host H] [--port P] [--home DIR]
        run the registry without JupyterLab (headless servers): services register with it
        (CAGENTS_DASHBOARD_URL=its URL, CAGENTS_DEPLOYMENT_TOKEN=the home's deployment_token)
        and report their executions into the home's database
  cagents deployments list [--json]     registrations (health from heartbeats) and local services
  cagents deployments cleanup           remove expired registrations and records of dead services
  cagents deployments stop ID           stop a service deployed from here and deregister it
  cagents deployments logs ID [--tail N]

A deployment is dead when its last heartbeat is older than its TTL."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION")
    start = actions.add_parser("start", help="run the deployment registry (no JupyterLab needed)",
                               description="Serve the registry routes under /cagents/api/ with the "
                                           "home's deployment token as bearer auth.")
    start.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    start.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free)")
    start.add_argument("--home", type=Path, help="workbench home (default $CAGENTS_HOME)")
    listing = actions.add_parser("list", help="registered deployments and local services",
                                 description="Registered deployments with their health, merged with the "
                                             "services deployed from this machine.")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    actions.add_parser("cleanup", help="remove expired registrations and dead local records",
                       description="Remove registrations whose heartbeat is older than their TTL, and "
                                   "the local records of services that no longer run.")
    stop = actions.add_parser("stop", help="stop a service deployed from here",
                              description="Stop the service (running executions get its grace period), "
                                          "deregister it and forget its local record.")
    stop.add_argument("id", metavar="ID", help="deployment id")
    logs = actions.add_parser("logs", help="the log of a service deployed from here",
                              description="Print the service's log (process: its log file; docker: "
                                          "the container's output).")
    logs.add_argument("id", metavar="ID", help="deployment id")
    logs.add_argument("--tail", type=int, metavar="N", help="only the last N lines")


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "action", None)
    if action is None:
        print("cagents deployments: choose an action: start, list, cleanup, stop, logs", file=sys.stderr)
        return 2
    return {"start": _start, "list": _list, "cleanup": _cleanup, "stop": _stop, "logs": _logs}[action](args)


def _start(args: argparse.Namespace) -> int:
    from cagents.deploy.serve_main import serve_registry
    from cagents.store.home import workbench_home

    return serve_registry(args.host, args.port, args.home or workbench_home())


def _running(record: DeployedService) -> bool | None:
    from cagents.deploy.target import get_target

    try:
        check = getattr(get_target(record.target), "running", None)
        return None if check is None else check(record)
    except CagentsError:
        return None


def _rows() -> list[dict[str, Any]]:
    """Registrations merged with local records, one row per deployment id."""
    from cagents.app import Workbench
    from cagents.app.deployments import list_deployments
    from cagents.deploy import local

    with Workbench.open() as workbench:
        registered = list_deployments(workbench)["items"]
    rows: dict[str, dict[str, Any]] = {}
    for item in registered:
        rows[item["deployment_id"]] = {**item, "health": "ok" if item["is_alive"] else "dead", "local": None}
    for record in local.load_all():
        running = _running(record)
        row = rows.setdefault(record.deployment_id, {
            "deployment_id": record.deployment_id, "deployment_name": record.name,
            "workflow_name": record.workflow, "host": record.host, "port": record.port,
            "last_heartbeat": None, "is_alive": None,
            "health": "not registered" if running is not False else "dead",
        })
        row["local"] = {**record.to_dict(), "running": running}
        if running is False:
            row["health"] = "dead"
    return list(rows.values())


def _ago(row: dict[str, Any]) -> str:
    age = row.get("heartbeat_age_seconds")
    if age is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if age >= size:
            return f"{age / size:.0f}{unit} ago"
    return f"{age:.0f}s ago"


def _list(args: argparse.Namespace) -> int:
    rows = _rows()
    if args.json:
        healthy = sum(1 for row in rows if row["health"] == "ok")
        json.dump({"items": rows, "summary": {"total": len(rows), "healthy": healthy,
                                              "dead": sum(1 for row in rows if row["health"] == "dead")}},
                  sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    if not rows:
        print("no deployments (start one with `cagents deploy FILE`)", file=sys.stderr)
        return 0
    table = [("HEALTH", "ID", "NAME", "WORKFLOW", "HOST:PORT", "HEARTBEAT", "LOCAL")]
    for row in rows:
        where = row["local"]
        here = "-" if where is None else f"{where['target']} " + (
            f"pid {where['pid']}" if where.get("pid") else (where.get("container_id") or "")[:12])
        table.append((row["health"].upper(), row["deployment_id"], row["deployment_name"] or "-",
                      row["workflow_name"] or "-", f"{row['host']}:{row['port']}", _ago(row), here))
    widths = [max(len(str(line[i])) for line in table) for i in range(len(table[0]))]
    for line in table:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())
    return 0


def _cleanup(args: argparse.Namespace) -> int:
    from cagents.app import Workbench
    from cagents.app.deployments import cleanup
    from cagents.deploy import local
    from cagents.deploy.target import get_target

    with Workbench.open() as workbench:
        removed = cleanup(workbench)["removed"]
    forgotten = []
    for record in local.load_all():
        if _running(record) is False:
            get_target(record.target).stop(record)  # releases what is left of it (no-op if nothing)
            local.remove(record.deployment_id)
            forgotten.append(record.deployment_id)
    print(f"removed {len(removed)} expired registrations"
          + (f" ({', '.join(removed)})" if removed else "")
          + f" and {len(forgotten)} records of stopped services"
          + (f" ({', '.join(forgotten)})" if forgotten else ""))
    return 0


def _local(deployment_id: str) -> DeployedService:
    from cagents.deploy import local

    try:
        return local.load(deployment_id)
    except NotFoundError:
        raise CagentsError(
            f"no deployment '{deployment_id}' was deployed from this machine (no "
            f"{local.deployments_dir() / (deployment_id + '.json')}); `cagents deployments list` shows them"
        ) from None


def _stop(args: argparse.Namespace) -> int:
    from cagents.app import Workbench
    from cagents.deploy import local
    from cagents.deploy.target import get_target

    record = _local(args.id)
    get_target(record.target).stop(record)
    with Workbench.open() as workbench:
        try:
            workbench.db.deployments.deregister(record.deployment_id)
        except NotFoundError:
            pass
    local.remove(record.deployment_id)
    print(f"stopped {record.deployment_id}")
    return 0


def _logs(args: argparse.Namespace) -> int:
    from cagents.deploy.target import get_target

    record = _local(args.id)
    text = get_target(record.target).logs(record, args.tail)
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    return 0
