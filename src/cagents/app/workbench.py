"""The workbench of one process: the app database, who this process is, and its live runs.

Every host (CLI, notebook, Jupyter server, deployed service) opens one `Workbench` and
passes it to the use cases in `cagents.app`. Opening it recovers executions whose owner
died; while it is open a heartbeat thread proves this process alive and carries out
cancel requests other processes wrote to the database for the runs this process drives.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from cagents.app.recorder import StoreRecorder
from cagents.errors import CagentsError

if TYPE_CHECKING:
    from cagents.engine.runner import Run
    from cagents.store import Database

__all__ = ["Workbench", "HEARTBEAT_ENV", "DEFAULT_HEARTBEAT_SECONDS", "heartbeat_seconds"]

#: Seconds between two heartbeats of a process that owns executions.
HEARTBEAT_ENV = "CAGENTS_HEARTBEAT_SECONDS"
DEFAULT_HEARTBEAT_SECONDS = 5.0
DATABASE_FILE = "configurable_agents.db"

_log = logging.getLogger("cagents.app")


def heartbeat_seconds() -> float:
    """`$CAGENTS_HEARTBEAT_SECONDS` (default 5); a bad value is an error naming the variable."""
    raw = os.environ.get(HEARTBEAT_ENV, "").strip()
    if not raw:
        return DEFAULT_HEARTBEAT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise CagentsError(f"{HEARTBEAT_ENV}={raw!r} is not a positive number of seconds (unset it for 5)")
    return value


class Workbench:
    """The database, this process's owner id, its live runs and the heartbeat thread."""

    def __init__(self, db: Database, *, owner_id: str | None = None, heartbeat: float | None = None) -> None:
        self.db = db
        self.owner_id = owner_id or uuid.uuid4().hex
        self.heartbeat_seconds = heartbeat if heartbeat is not None else heartbeat_seconds()
        self._live: weakref.WeakValueDictionary[str, Run] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()
        self.recorder = StoreRecorder(db, owner=self.owner_id, on_finished=self._run_finished)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.recovered: list[str] = []

    @classmethod
    def open(cls, home: Path | None = None, db_url: str | None = None) -> Workbench:
        """Open the app database (`db_url`, else `home`/configurable_agents.db, else the
        default), recover executions of dead processes and start the heartbeat."""
        from cagents.app.recovery import recover_interrupted
        from cagents.store import open_database

        if db_url is None and home is not None:
            home = Path(home)
            home.mkdir(parents=True, mode=0o700, exist_ok=True)
            db_url = f"sqlite:///{home / DATABASE_FILE}"
        interval = heartbeat_seconds()
        db = open_database(db_url)
        workbench = cls(db, heartbeat=interval)
        try:
            workbench.recovered = recover_interrupted(workbench)
        except BaseException:
            db.close()
            raise
        workbench._start_heartbeat()
        return workbench

    # ---- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        """Stop the heartbeat and close the database; runs of this process should be done."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(self.heartbeat_seconds + 15)
        _flush_traces()  # traces of this process's runs land (and their ids on the rows) first
        self.db.close()

    def __enter__(self) -> Workbench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Workbench {self.db.url} owner={self.owner_id} live={len(self.live_ids())}>"

    # ---- live runs ----------------------------------------------------------------------
    def track(self, run: Run) -> None:
        """Remember a run this process drives, so cancel requests can reach it."""
        with self._lock:
            self._live[run.execution_id] = run

    def untrack(self, execution_id: str) -> None:
        with self._lock:
            self._live.pop(execution_id, None)

    def live_run(self, execution_id: str) -> Run | None:
        """The run of this process with that id, if it is not over."""
        with self._lock:
            run = self._live.get(execution_id)
        if run is None or run.done:
            return None
        return run

    def live_ids(self) -> list[str]:
        with self._lock:
            runs = list(self._live.items())
        return [execution_id for execution_id, run in runs if not run.done]

    def wait_stopped(self, execution_id: str, timeout: float) -> bool:
        """Block (in a worker thread) until the execution's row no longer says it runs."""
        deadline = time.monotonic() + timeout
        while True:
            if self.db.executions.get(execution_id).status not in ("running", "pending"):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def _run_finished(self, execution_id: str, status: str) -> None:
        if status != "waiting":  # a paused run may still be answered through its handle
            self.untrack(execution_id)

    # ---- heartbeat ----------------------------------------------------------------------
    def _start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._beat, name="cagents-heartbeat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            try:
                self.heartbeat()
            except CagentsError as error:  # a locked or unreachable database: try again next beat
                _log.warning("heartbeat failed: %s", error)
            except Exception:
                _log.exception("heartbeat failed")

    def heartbeat(self) -> list[str]:
        """Prove this process alive and cancel its runs that others asked to stop.

        Returns the ids of the runs it cancelled. The heartbeat thread calls it; a host may
        call it too.
        """
        self.db.sessions.heartbeat(self.owner_id)
        cancelled = []
        for execution_id in self._cancel_requested(self.live_ids()):
            run = self.live_run(execution_id)
            if run is not None:
                run.cancel()
                cancelled.append(execution_id)
        return cancelled

    def _cancel_requested(self, execution_ids: list[str]) -> list[str]:
        """Which of these executions another process asked to cancel (one query per 500)."""
        from sqlalchemy import select

        from cagents.store.models import Execution

        asked: list[str] = []
        for start in range(0, len(execution_ids), 500):
            chunk = execution_ids[start : start + 500]
            query = select(Execution.id).where(Execution.id.in_(chunk), Execution.cancel_requested.is_(True))
            with self.db.read() as conn:
                asked.extend(conn.execute(query).scalars())
        return asked


def _flush_traces(timeout: float = 60.0) -> None:
    """Wait for the background MLflow export, if this process traced anything."""
    import sys

    if "cagents.observe.tracer" not in sys.modules:
        return
    from cagents.observe import flush_traces

    flush_traces(timeout)
