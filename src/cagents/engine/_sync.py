"""Run coroutines from synchronous code, including code that already runs inside an event
loop (a Jupyter kernel), on one background loop owned by this process."""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")
_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="cagents-loop", daemon=True)
            thread.start()
            _loop = loop
            atexit.register(_shutdown, loop)
        return _loop


def _shutdown(loop: asyncio.AbstractEventLoop) -> None:
    """At exit: close the LLM clients opened on the background loop, then stop it."""
    if loop.is_closed() or not loop.is_running():
        return
    import sys

    if "cagents.llm" in sys.modules:
        from cagents.llm import aclose_clients

        try:
            asyncio.run_coroutine_threadsafe(aclose_clients(), loop).result(5)
        except Exception:  # best effort at interpreter exit
            pass
    loop.call_soon_threadsafe(loop.stop)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Wait for `coro` on the background loop; Ctrl-C cancels it."""
    loop = _background_loop()
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result()
    except KeyboardInterrupt:
        future.cancel()
        raise
