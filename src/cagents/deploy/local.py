"""What this machine deployed: one JSON record per deployment under the workbench home.

`$CAGENTS_HOME/deployments/<id>.json` holds the target, pid or container id, port, URL,
log path and start time (never env values); `<id>.log` is a process service's log and
`<id>/` its own workbench home. `cagents deployments stop|logs|list` read these.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

from cagents.deploy.target import DeployedService
from cagents.errors import CagentsError, NotFoundError

__all__ = [
    "deployments_dir",
    "load",
    "load_all",
    "log_path",
    "new_deployment_id",
    "process_alive",
    "remove",
    "save",
    "service_home",
]


def deployments_dir(home: Path | None = None) -> Path:
    """`<home>/deployments`, created private when missing."""
    from cagents.store.home import workbench_home

    folder = Path(home or workbench_home()) / "deployments"
    folder.mkdir(parents=True, mode=0o700, exist_ok=True)
    return folder


def _path(deployment_id: str, home: Path | None, suffix: str) -> Path:
    if "/" in deployment_id or deployment_id in ("", ".", ".."):
        raise CagentsError(f"deployment id {deployment_id!r} cannot name a file; ids have no '/'")
    return deployments_dir(home) / f"{deployment_id}{suffix}"


def log_path(deployment_id: str, home: Path | None = None) -> Path:
    return _path(deployment_id, home, ".log")


def service_home(deployment_id: str, home: Path | None = None) -> Path:
    """The service's own workbench home (its database of the executions it ran)."""
    folder = _path(deployment_id, home, "")
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def new_deployment_id(name: str) -> str:
    """`<name>-<6 hex>`: readable, and two deployments of one workflow never collide."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "workflow"
    return f"{slug[:100]}-{secrets.token_hex(3)}"


def save(record: DeployedService, home: Path | None = None) -> Path:
    """Write the record (atomically, owner-only)."""
    path = _path(record.deployment_id, home, ".json")
    temporary = path.with_suffix(".json.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(record.to_dict(), handle, indent=2)
    os.replace(temporary, path)
    return path


def load(deployment_id: str, home: Path | None = None) -> DeployedService:
    """The record of a deployment made here; NotFoundError names where it looked."""
    path = _path(deployment_id, home, ".json")
    if not path.is_file():
        raise NotFoundError("local deployment", deployment_id)
    return _read(path)


def _read(path: Path) -> DeployedService:
    try:
        return DeployedService.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise CagentsError(f"the deployment record {path} cannot be read ({exc}); delete it") from None


def load_all(home: Path | None = None) -> list[DeployedService]:
    """Every record, newest first; unreadable files are skipped."""
    records = []
    for path in deployments_dir(home).glob("*.json"):
        try:
            records.append(_read(path))
        except CagentsError:
            continue
    return sorted(records, key=lambda r: r.started_at or "", reverse=True)


def remove(deployment_id: str, home: Path | None = None) -> None:
    """Forget a deployment: its record (the log and the service's database stay)."""
    _path(deployment_id, home, ".json").unlink(missing_ok=True)


def process_alive(record: DeployedService) -> bool:
    """Whether the record's service process still runs (and is that service, not a reused pid)."""
    from cagents.app.recovery import pid_alive

    if record.pid is None or not pid_alive(record.pid):
        return False
    try:
        cmdline = Path(f"/proc/{record.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc: trust the pid
    return b"serve" in cmdline and record.deployment_id.encode() in cmdline
