"""`GET executions/{id}/events`: an execution as it happens, as Server-Sent Events.

A run this server drives replays every event it emitted, then follows it live (`id:` is the
event's index, so `Last-Event-ID` resumes after it). Any other execution (the CLI, a
notebook, another server, or one long over) is polled in the database: `state` events for
new checkpoints and `execution` snapshots when something moved. Both end with an `end`
event once the run stops; comment lines keep idle connections open through proxies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.iostream import StreamClosedError

from cagents.errors import NotFoundError, StoreError
from cagents.jupyter.handlers._base import ApiHandler

if TYPE_CHECKING:
    from cagents.app.live import LiveRun, RecordedRun

__all__ = ["ROUTES", "EventsHandler"]

_STATE_ID = "state-"


def _number(text: str) -> int | None:
    """A `Last-Event-ID` number; anything else (another stream's id, garbage) is None."""
    if not (0 < len(text) <= 18 and text.isascii() and text.isdigit()):
        return None
    return int(text)


class EventsHandler(ApiHandler):
    """The event stream of one execution; 404 JSON for an unknown id, before any streaming."""

    #: Seconds without an event after which a comment line is sent (proxies drop idle streams).
    keepalive_seconds = 15.0
    #: Seconds between two database polls of an execution this server does not drive.
    poll_seconds = 0.5

    _closed: asyncio.Event | None = None

    def on_connection_close(self) -> None:
        super().on_connection_close()
        if self._closed is not None:
            self._closed.set()

    @web.authenticated
    @authorized
    async def get(self, execution_id: str) -> None:
        from cagents.app.live import RecordedRun

        self._closed = asyncio.Event()
        last = self.request.headers.get("Last-Event-ID") or self.query("last_event_id") or ""
        run = (await self.live()).get(execution_id)
        recorded: RecordedRun | None = None
        first: list[dict[str, Any]] = []
        if run is None:
            after = _number(last[len(_STATE_ID):]) if last.startswith(_STATE_ID) else None
            recorded = RecordedRun(await self.workbench(), execution_id, after_state=after or 0)
            first = await self.blocking(recorded.poll)  # an unknown id is a JSON 404 here
        self.set_status(200)
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        try:
            await self.flush()
            if run is not None:
                index = _number(last)
                status = await self._follow_live(run, 0 if index is None else index + 1)
            else:
                assert recorded is not None
                status = await self._follow_recorded(recorded, first)
            if status is not None:
                self._send("end", {"execution_id": execution_id, "status": status})
            self.finish(set_content_type="text/event-stream")
        except StreamClosedError:
            pass  # the client went away; the run goes on

    # ---- the two sources ----------------------------------------------------------------
    async def _follow_live(self, run: LiveRun, index: int) -> str | None:
        """Replay from `index`, then follow; the final status, or None if the client left."""
        status: str | None = None
        while True:
            closed, batch = await self._unless_closed(run.events_after(index, self.keepalive_seconds))
            if closed:
                return None
            for event in batch:
                self._send(event.get("type", "event"), event, str(index))
                index += 1
                if event.get("type") == "execution_finished":
                    status = event.get("status")
            if not batch:
                if run.done:
                    break
                self.write(": keep-alive\n\n")
            await self.flush()
        if status is None and run.result is not None:
            status = run.result.status
        return status or "failed"

    async def _follow_recorded(self, recorded: RecordedRun, events: list[dict[str, Any]]) -> str | None:
        """Poll until the row says the run stopped; the final status, or None if the client left."""
        last_write = time.monotonic()
        status = "unknown"
        while True:
            for event in events:
                event_id = f"{_STATE_ID}{event['id']}" if event["type"] == "state" else None
                self._send(event["type"], event, event_id)
                status = event.get("status", status) if event["type"] == "execution" else status
            if events or time.monotonic() - last_write >= self.keepalive_seconds:
                if not events:
                    self.write(": keep-alive\n\n")
                await self.flush()
                last_write = time.monotonic()
            if recorded.ended:
                return status
            closed, _ = await self._unless_closed(asyncio.sleep(self.poll_seconds))
            if closed:
                return None
            try:
                events = await self.blocking(recorded.poll)
            except NotFoundError as error:  # deleted while followed
                self._send("error", error.to_dict())
                return "unknown"
            except StoreError as error:  # a locked or unreachable database: try the next poll
                self.log.warning("cagents events of %s: %s", recorded.execution_id, error)
                events = []

    # ---- helpers ------------------------------------------------------------------------
    async def _unless_closed(self, waiting: Awaitable[Any]) -> tuple[bool, Any]:
        """Await `waiting` unless the client disconnects first: (closed, result)."""
        assert self._closed is not None
        task = asyncio.ensure_future(waiting)
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({task, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return True, None
        return False, task.result()

    def _send(self, kind: str, data: Any, event_id: str | None = None) -> None:
        """One event; `data` is one line of JSON (json.dumps escapes every newline)."""
        head = f"id: {event_id}\n" if event_id is not None else ""
        self.write(f"{head}event: {kind}\ndata: {json.dumps(data, default=str)}\n\n")


ROUTES = [
    ("executions/(?P<execution_id>[^/]+)/events", EventsHandler),
]
