"""A service's registration with the workbench: register, heartbeat, register again.

The service registers under its deployment id, then sends a heartbeat every third of its
TTL. A heartbeat answered 404 means the workbench forgot it (expired and cleaned up, or
deregistered): it registers again. A workbench that cannot be reached is retried quietly;
the service keeps serving either way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["API_PATH", "DASHBOARD_ENV", "Registration", "api_url"]

#: Where a service finds the workbench (Jupyter's base URL, or `cagents deployments start`).
DASHBOARD_ENV = "CAGENTS_DASHBOARD_URL"
API_PATH = "cagents/api/"
REQUEST_TIMEOUT = 5.0

_log = logging.getLogger("cagents.deploy")


def api_url(dashboard_url: str, path: str) -> str:
    """`{dashboard_url}/cagents/api/{path}` whatever the slashes given."""
    return dashboard_url.rstrip("/") + "/" + API_PATH + path.lstrip("/")


class Registration:
    """Keeps one deployment registered while the service runs (see module docstring)."""

    def __init__(
        self,
        dashboard_url: str,
        token: str | None,
        payload: Mapping[str, Any],
        *,
        interval: float | None = None,
        on_cancel: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.dashboard_url = dashboard_url
        #: Called with the execution ids the workbench asked to cancel (heartbeat answers).
        self.on_cancel = on_cancel
        self.payload = dict(payload)
        self.deployment_id = str(payload["deployment_id"])
        ttl = float(payload.get("ttl_seconds") or 60)
        self.interval = interval if interval is not None else max(ttl / 3.0, 0.2)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.registered = False
        self.registrations = 0
        self.heartbeats = 0
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def start(self) -> None:
        """Run the loop as a task of the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="cagents-registration")

    async def aclose(self) -> None:
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _loop(self) -> None:
        import httpx

        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, trust_env=False) as client:
            while not self._stop.is_set():
                try:
                    await self.beat(client)
                except httpx.HTTPError as exc:
                    self._failed(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
                except Exception as exc:  # noqa: BLE001  (never let the loop die: the service must stay registered)
                    _log.exception("registration with %s failed", self.dashboard_url)
                    self._failed(str(exc))
                try:
                    await asyncio.wait_for(self._stop.wait(), self.interval)
                except asyncio.TimeoutError:
                    pass

    async def beat(self, client: Any) -> None:
        """One round: register when not registered, else a heartbeat (404: register again)."""
        if self.registered:
            response = await client.post(
                api_url(self.dashboard_url, f"deployments/{self.deployment_id}/heartbeat"),
                json={}, headers=self.headers,
            )
            if response.status_code == 404:
                _log.info("deployment %s is not registered any more: registering again", self.deployment_id)
                self.registered = False
            elif response.status_code == 200:
                self.heartbeats += 1
                self._ok()
                self._cancel_asked(response)
                return
            else:
                self._refused("heartbeat", response)
                return
        response = await client.post(api_url(self.dashboard_url, "deployments"), json=self.payload,
                                     headers=self.headers)
        if response.status_code in (200, 201):
            if not self.registered:
                _log.info("registered deployment %s with %s", self.deployment_id, self.dashboard_url)
            self.registered = True
            self.registrations += 1
            self._ok()
        else:
            self._refused("registration", response)

    def _cancel_asked(self, response: Any) -> None:
        if self.on_cancel is None:
            return
        try:
            asked = response.json().get("cancel_requested") or []
        except (ValueError, AttributeError):
            return
        if isinstance(asked, list) and asked:
            self.on_cancel([str(execution_id) for execution_id in asked])

    def _ok(self) -> None:
        if self.last_error is not None:
            _log.info("the workbench at %s answers again", self.dashboard_url)
        self.last_error = None

    def _refused(self, what: str, response: Any) -> None:
        try:
            message = response.json().get("message") or response.text
        except (ValueError, AttributeError):
            message = response.text
        hint = ""
        if response.status_code in (401, 403):
            hint = " (check CAGENTS_DEPLOYMENT_TOKEN: it must be the workbench's deployment_token)"
        self._failed(f"{what} answered {response.status_code}: {str(message)[:300]}{hint}")

    def _failed(self, reason: str) -> None:
        if reason != self.last_error:  # one line per new problem, not one per beat
            _log.warning("cannot register with the workbench at %s: %s", self.dashboard_url, reason)
        self.last_error = reason
