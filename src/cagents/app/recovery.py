"""Crash recovery: an execution whose owner process died is marked `interrupted`.

A process that runs executions claims them in `session_state` and sends heartbeats. An
execution still `running` or `pending` is orphaned when its owner is a process of this
host that no longer exists, when its owner's heartbeat is older than three heartbeat
intervals, or when no process ever claimed it and it is older than that. Orphans become
`interrupted` (never left `running`) and can be resumed from their last checkpoint.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cagents.app.workbench import Workbench

__all__ = ["recover_interrupted", "pid_alive", "Owner", "STALE_BEATS"]

#: Heartbeats an owner may miss before its executions count as orphaned.
STALE_BEATS = 3
ACTIVE = ("running", "pending")


@dataclass(frozen=True)
class Owner:
    """The claim on one active execution, as `session_state` keeps it (None: unclaimed)."""

    execution_id: str
    started_at: datetime
    deployment_id: str | None
    owner_id: str | None
    pid: int | None
    hostname: str | None
    heartbeat_at: datetime | None


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (a zombie counts as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True


def _active_owners(workbench: Workbench) -> list[Owner]:
    from sqlalchemy import select

    from cagents.store.models import Execution, SessionState

    query = (
        select(Execution.id, Execution.started_at, Execution.deployment_id, SessionState.owner_id,
               SessionState.pid, SessionState.hostname, SessionState.heartbeat_at)
        .outerjoin(SessionState, SessionState.execution_id == Execution.id)
        .where(Execution.status.in_(ACTIVE))
    )
    with workbench.db.read() as conn:
        return [Owner(*row) for row in conn.execute(query).all()]


def _orphaned(owner: Owner, *, me: str, host: str, now: datetime, stale: timedelta) -> bool:
    if owner.owner_id == me:
        return False
    if owner.owner_id is None:
        # Unclaimed: a crash between the accepted row and the claim, or a run reported by
        # a deployed service (which answers for it); only the first is ours to recover.
        return owner.deployment_id is None and now - owner.started_at > stale
    if owner.hostname == host and owner.pid is not None and not pid_alive(owner.pid):
        return True
    return owner.heartbeat_at is None or now - owner.heartbeat_at > stale


def recover_interrupted(workbench: Workbench) -> list[str]:
    """Mark executions of dead processes `interrupted`; returns their ids."""
    from cagents.store.models import utcnow

    stale = timedelta(seconds=STALE_BEATS * workbench.heartbeat_seconds)
    now = utcnow()
    host = socket.gethostname()
    orphans = [
        owner.execution_id
        for owner in _active_owners(workbench)
        if _orphaned(owner, me=workbench.owner_id, host=host, now=now, stale=stale)
    ]
    if not orphans:
        return []
    workbench.db.executions.mark_interrupted(
        orphans, "the process running this execution stopped (crash or kill); resume it to continue"
    )
    for execution_id in orphans:
        workbench.db.sessions.release(execution_id)
    return orphans
