"""The workbench's deployment token: lets deployed services register and send heartbeats.

A random secret in a 0600 file under the workbench home. A service started by the workbench
gets it in `CAGENTS_DEPLOYMENT_TOKEN`; the registry compares what it is sent in constant time.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from pathlib import Path

from cagents.errors import CagentsError

__all__ = ["TOKEN_ENV", "TOKEN_FILE", "deployment_token", "token_matches"]

TOKEN_FILE = "deployment_token"
#: Where a deployed service reads the token it presents to the workbench.
TOKEN_ENV = "CAGENTS_DEPLOYMENT_TOKEN"


def deployment_token(home: Path) -> str:
    """The token of the workbench at `home`, created on first use (owner-only file)."""
    path = Path(home) / TOKEN_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    except OSError as exc:
        raise CagentsError(f"cannot create the deployment token {path}: {exc.strerror or exc}") from exc
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def _read(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        # Readable by others: it is no longer a secret of this user. Tighten it and go on.
        path.chmod(0o600)
    token = path.read_text().strip()
    if len(token) < 16:
        raise CagentsError(f"the deployment token in {path} is too short; delete the file to make a new one")
    return token


def token_matches(expected: str, presented: str | None) -> bool:
    """Constant-time comparison; an absent or empty token never matches."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())
