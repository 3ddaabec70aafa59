"""Per-thread SQLite connections for the checkpoint write, the engine's per-node cost.

A pool checkout and return cost about as much as the INSERT itself, so each thread that
writes checkpoints keeps one driver connection of its own, taken from the engine (so it
carries the same PRAGMAs) and detached from the pool (so it never starves other work).
It is closed when its thread ends or when the database closes.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from sqlalchemy.engine import Engine

__all__ = ["ThreadConnections"]


class _Held:
    """One thread's connection; closing on collection covers threads that ended."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def __del__(self) -> None:
        self.conn.close()


class ThreadConnections:
    """A driver connection per thread, all closed by `close()`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._all: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._generation = 0

    def get(self) -> Any:
        """This thread's connection (opened on first use, and again after `close()`)."""
        held: _Held | None = getattr(self._local, "held", None)
        if held is not None and self._local.generation == self._generation:
            return held.conn
        fairy = self._engine.raw_connection()
        conn = fairy.driver_connection
        fairy.detach()  # ours now: the pool opens another when it needs one
        held = _Held(conn)
        with self._lock:
            self._all.add(held)
            self._local.generation = self._generation
        self._local.held = held
        return conn

    def close(self) -> None:
        """Close every thread's connection; threads that write again open a new one."""
        with self._lock:
            self._generation += 1
            for held in list(self._all):
                held.conn.close()
            self._all.clear()
