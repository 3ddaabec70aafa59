"""`registry.json` in the workbench home: where the registry of this home runs, if one does.

JupyterLab's server extension and `cagents deployments start` write it while they run, so
`cagents deploy` (from a terminal or a kernel) hands the right URL to the services it starts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["REGISTRY_FILE", "discover", "publish", "unpublish"]

#: `{"url": ..., "pid": ...}` while a registry runs.
REGISTRY_FILE = "registry.json"


def discover(home: Path) -> str | None:
    """The URL of a registry running for this home, if one does (its process is alive)."""
    from cagents.app.recovery import pid_alive

    try:
        data = json.loads((Path(home) / REGISTRY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not pid_alive(int(data.get("pid") or 0)):
        return None
    url = data.get("url")
    return url if isinstance(url, str) else None


def publish(home: Path, url: str) -> None:
    """Say that this process is the registry of `home`, at `url`."""
    marker = Path(home) / REGISTRY_FILE
    marker.write_text(json.dumps({"url": url, "pid": os.getpid()}), encoding="utf-8")


def unpublish(home: Path) -> None:
    """Remove the marker if it still names this process."""
    marker = Path(home) / REGISTRY_FILE
    try:
        if json.loads(marker.read_text(encoding="utf-8")).get("pid") == os.getpid():
            marker.unlink()
    except (OSError, ValueError, AttributeError):
        pass
