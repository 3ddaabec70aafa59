"""Reports the executions a service runs to the workbench, in the background.

An engine subscriber marks an execution as changed (accepted, a checkpoint, the end); a few
sender tasks read its row and new checkpoints from the service's own database and post them
to `deployments/{id}/executions`. The end is sent at once; other changes wait up to `delay`
seconds, so the changes of one execution coalesce (a short run is one report) while a long
one still shows its progress. A run never waits for a report, and a report that keeps
failing is dropped with a log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cagents.deploy.registration import REQUEST_TIMEOUT, api_url

if TYPE_CHECKING:
    from cagents.engine.events import Event
    from cagents.store import Database

__all__ = ["Reporter", "execution_payload"]

_log = logging.getLogger("cagents.deploy")
_TRIGGERS = frozenset({"execution_accepted", "checkpoint_written", "execution_finished"})
_ACTIVE = frozenset({"running", "pending"})
_EXECUTION_KEYS = (
    "id", "workflow_name", "status", "started_at", "completed_at", "config_snapshot", "config_hash",
    "inputs", "outputs", "error_message", "duration_seconds", "total_tokens", "total_cost_usd",
    "bottleneck_info", "simulated", "waiting_for", "trace_id",
)
_STATE_KEYS = ("node_id", "step", "state_data", "created_at", "duration_seconds", "tokens", "cost_usd",
               "resume_data")
#: Checkpoints per request (the route takes at most 500).
STATES_PER_REPORT = 200


def execution_payload(record: Any, states: list[Any], deployment_id: str) -> dict[str, Any]:
    """The JSON body of a report: the execution's row and some of its checkpoints."""
    row = record.to_dict()
    execution = {key: row[key] for key in _EXECUTION_KEYS}
    execution["deployment_id"] = deployment_id
    rows = [state.to_dict() for state in states]
    return {"execution": execution, "states": [{key: row[key] for key in _STATE_KEYS} for row in rows]}


class Reporter:
    """Queue and senders of execution reports (see module docstring)."""

    def __init__(
        self,
        dashboard_url: str,
        token: str | None,
        deployment_id: str,
        db: Database,
        *,
        senders: int = 4,
        max_failures: int = 5,
        retry_delay: float = 0.5,
        delay: float = 1.0,
        on_cancel: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.dashboard_url = dashboard_url
        #: Called with an execution id the workbench asked to cancel (report answers).
        self.on_cancel = on_cancel
        self.deployment_id = deployment_id
        self.db = db
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.senders = senders
        self.max_failures = max_failures
        self.retry_delay = retry_delay
        self.delay = delay
        self.sent = 0
        self.dropped = 0
        self._dirty: OrderedDict[str, float] = OrderedDict()  # id -> when it is due (monotonic)
        self._flushing = False
        self._busy: set[str] = set()
        self._last_state: dict[str, int] = {}
        self._failures: dict[str, int] = {}
        self._retrying: set[asyncio.TimerHandle] = set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._client: Any = None

    # ---- the engine side ----------------------------------------------------------------
    def subscriber(self, event: Event) -> None:
        """The engine subscriber: called in the run's loop, so it only marks and wakes."""
        if event.type in _TRIGGERS:
            self.mark(event.execution_id, urgent=event.type == "execution_finished")

    def mark(self, execution_id: str, *, urgent: bool = True) -> None:
        """Report this execution: now, or (not `urgent`) within `delay` seconds."""
        now = time.monotonic()
        due = now if urgent or self._flushing else now + self.delay
        current = self._dirty.get(execution_id)
        if current is None or due < current:
            self._dirty[execution_id] = due
        self._idle.clear()
        self._wake.set()

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        import httpx

        self._client = httpx.AsyncClient(timeout=REQUEST_TIMEOUT, trust_env=False)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._sender(), name=f"cagents-reporter-{i}")
                       for i in range(self.senders)]

    @property
    def pending(self) -> int:
        return len(self._dirty) + len(self._busy) + len(self._retrying)

    async def flush(self, timeout: float) -> bool:
        """Send everything marked now and wait until it was sent (or dropped); False on timeout."""
        self._flushing = True
        for execution_id in self._dirty:
            self._dirty[execution_id] = 0.0
        self._wake.set()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def aclose(self, flush_timeout: float = 5.0) -> None:
        """Send what is queued (up to `flush_timeout`), then stop the senders."""
        if not await self.flush(flush_timeout) and self.pending:
            _log.warning("stopping with %d execution reports not sent to %s", self.pending,
                         self.dashboard_url)
        for handle in self._retrying:
            handle.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()

    # ---- the senders --------------------------------------------------------------------
    def _take(self) -> tuple[str | None, float | None]:
        """An execution due now (None if none), and when the next one is due."""
        now = time.monotonic()
        upcoming: float | None = None
        for execution_id, due in self._dirty.items():
            if execution_id in self._busy:
                continue
            if due <= now:
                del self._dirty[execution_id]
                self._busy.add(execution_id)
                return execution_id, None
            upcoming = due if upcoming is None else min(upcoming, due)
        return None, upcoming

    def _check_idle(self) -> None:
        if not self.pending:
            self._idle.set()

    async def _sender(self) -> None:
        while True:
            execution_id, upcoming = self._take()
            if execution_id is None:
                self._wake.clear()
                self._check_idle()
                wait = None if upcoming is None else max(upcoming - time.monotonic(), 0.0)
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except asyncio.TimeoutError:
                    pass
                continue
            try:
                await self._report(execution_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001  (a report must never kill its sender)
                self._failed(execution_id, f"{type(exc).__name__}: {exc}")
            finally:
                self._busy.discard(execution_id)
                if execution_id in self._dirty:
                    self._wake.set()
                self._check_idle()

    async def _report(self, execution_id: str) -> None:
        import httpx

        from cagents.errors import CagentsError

        after = self._last_state.get(execution_id, 0)
        try:
            record, states = await asyncio.to_thread(self._read, execution_id, after)
        except CagentsError as exc:  # the row is not readable (yet): try again later
            self._failed(execution_id, str(exc))
            return
        url = api_url(self.dashboard_url, f"deployments/{self.deployment_id}/executions")
        chunks = [states[i:i + STATES_PER_REPORT] for i in range(0, len(states), STATES_PER_REPORT)] or [[]]
        for chunk in chunks:
            body = execution_payload(record, chunk, self.deployment_id)
            try:
                response = await self._client.post(url, json=body, headers=self.headers)
            except httpx.HTTPError as exc:
                self._failed(execution_id, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
                return
            if response.status_code >= 500 or response.status_code == 429:
                self._failed(execution_id, f"the workbench answered {response.status_code}")
                return
            if response.status_code >= 400:  # refused: resending the same report cannot help
                self._drop(execution_id, f"the workbench refused it ({response.status_code}): "
                           f"{response.text[:300]}")
                return
            if chunk:
                self._last_state[execution_id] = chunk[-1].id
            if self.on_cancel is not None and _asks_cancel(response):
                self.on_cancel([execution_id])
        self.sent += 1
        self._failures.pop(execution_id, None)
        if record.status not in _ACTIVE and execution_id not in self._dirty:
            self._last_state.pop(execution_id, None)

    def _read(self, execution_id: str, after: int) -> tuple[Any, list[Any]]:
        record = self.db.executions.get(execution_id)
        states = [state for state in self.db.executions.states(execution_id) if state.id > after]
        return record, states

    def _failed(self, execution_id: str, reason: str) -> None:
        failures = self._failures.get(execution_id, 0) + 1
        self._failures[execution_id] = failures
        if failures >= self.max_failures:
            self._drop(execution_id, f"{failures} attempts failed, the last: {reason}")
            return
        delay = self.retry_delay * 2 ** (failures - 1)
        handle: asyncio.TimerHandle | None = None

        def again() -> None:
            if handle is not None:
                self._retrying.discard(handle)
            self.mark(execution_id)

        handle = asyncio.get_running_loop().call_later(delay, again)
        self._retrying.add(handle)

    def _drop(self, execution_id: str, reason: str) -> None:
        self.dropped += 1
        self._failures.pop(execution_id, None)
        self._last_state.pop(execution_id, None)
        _log.warning("dropped the report of execution %s to %s: %s", execution_id, self.dashboard_url, reason)


def _asks_cancel(response: Any) -> bool:
    try:
        return bool(response.json().get("cancel_requested"))
    except (ValueError, AttributeError):
        return False
