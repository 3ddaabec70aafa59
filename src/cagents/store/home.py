"""Where the workbench keeps its files, and which database it opens by default.

Cheap to import (no SQLAlchemy): hosts call these to show or pass the location.
"""

from __future__ import annotations

import os
from pathlib import Path

from cagents.errors import StoreError

__all__ = ["DB_FILENAME", "DB_URL_ENV", "HOME_ENV", "default_database_url", "workbench_home"]

HOME_ENV = "CAGENTS_HOME"
DB_URL_ENV = "CAGENTS_DB_URL"
DB_FILENAME = "configurable_agents.db"


def workbench_home() -> Path:
    """`$CAGENTS_HOME`, else `~/.cagents`; created private (0700) when missing."""
    raw = os.environ.get(HOME_ENV, "").strip()
    home = Path(raw).expanduser() if raw else Path.home() / ".cagents"
    if not home.is_dir():
        try:
            home.mkdir(parents=True, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the workbench home {home}: {exc.strerror or exc}; "
                f"set {HOME_ENV} to a writable folder"
            ) from exc
    return home


def default_database_url() -> str:
    """`$CAGENTS_DB_URL` (any SQLAlchemy URL), else the SQLite file in the workbench home."""
    url = os.environ.get(DB_URL_ENV, "").strip()
    if url:
        return url
    return f"sqlite:///{workbench_home() / DB_FILENAME}"
