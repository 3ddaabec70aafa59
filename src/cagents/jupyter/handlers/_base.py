"""The base of every REST handler: Jupyter's auth, JSON in and out, one error shape.

Every error a client sees is JSON `{"error": TYPE, "message": ..., ...}` with the status the
error carries (`CagentsError.http_status`); bad request bodies and query arguments name the
field (`RequestError`). Nothing sends a traceback; unexpected failures are logged here.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from tornado import web

from cagents.app.request_body import MAX_BODY_BYTES, Body, parse_body
from cagents.errors import CagentsError, RequestError

if TYPE_CHECKING:
    from cagents.app.live import LiveRuns
    from cagents.app.workbench import Workbench
    from cagents.jupyter.runtime import ServerRuntime

__all__ = ["API_PREFIX", "ApiHandler", "Body", "MAX_BODY_BYTES", "RUNTIME_KEY"]

#: Routes are `{base_url}` + this + the route.
API_PREFIX = "cagents/api/"
#: The key of the `ServerRuntime` in the tornado settings.
RUNTIME_KEY = "cagents_runtime"
#: Jupyter's authorization resource of every route here.
AUTH_RESOURCE = "cagents"

T = TypeVar("T")

class ApiHandler(APIHandler):
    """JSON REST handler of the workbench: authenticated, XSRF-checked, errors as JSON."""

    auth_resource = AUTH_RESOURCE

    # ---- what the handlers use ----------------------------------------------------------
    @property
    def runtime(self) -> ServerRuntime:
        return self.settings[RUNTIME_KEY]  # type: ignore[no-any-return]

    async def workbench(self) -> Workbench:
        return await self.runtime.workbench()

    async def live(self) -> LiveRuns:
        return await self.runtime.live()

    async def blocking(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a database call in a worker thread, so the server loop keeps serving."""
        return await asyncio.to_thread(function, *args, **kwargs)

    def body(self, *, allowed: set[str] | None = None) -> Body:
        """The JSON object in the request body (an empty body is `{}`)."""
        return parse_body(self.request.body, allowed=allowed)

    def query(self, name: str, default: str | None = None) -> str | None:
        value = self.get_query_argument(name, None)
        return default if value is None or value == "" else value

    def query_int(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.query(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise RequestError(f"query argument '{name}' must be an integer, got {raw!r}", field=name) from None
        if not low <= value <= high:
            raise RequestError(f"query argument '{name}' must be between {low} and {high}, got {value}",
                               field=name)
        return value

    def send_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data, default=str))

    # ---- errors -------------------------------------------------------------------------
    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, CagentsError) and not self._finished:
            status = int(getattr(e, "http_status", 500) or 500)
            if status >= 500:
                self.log.warning("cagents %s %s: %s", self.request.method, self.request.path, e)
            self.send_error(status, exc_info=sys.exc_info())
            return
        super()._handle_request_exception(e)  # type: ignore[misc]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        if isinstance(error, CagentsError):
            reply = error.to_dict()
        elif isinstance(error, web.HTTPError):
            reply = {"error": "HTTPError", "message": error.log_message or self._reason}
        elif error is not None:
            reply = {"error": "InternalError",
                     "message": "the server failed on this request; the Jupyter server log has the details"}
        else:
            reply = {"error": "HTTPError", "message": self._reason}
        reply.setdefault("status", status_code)
        self.finish(json.dumps(reply, default=str))


class NotFoundRoute(ApiHandler):
    """Any other path under the API prefix: a JSON 404 that names it."""

    def _missing(self, path: str) -> None:
        raise RequestError(f"no route {self.request.method} /{API_PREFIX}{path}; see docs/rest-api.md",
                           field=None, status=404)

    @web.authenticated
    def get(self, path: str) -> None:
        self._missing(path)

    @web.authenticated
    def post(self, path: str) -> None:
        self._missing(path)

    @web.authenticated
    def put(self, path: str) -> None:
        self._missing(path)

    @web.authenticated
    def patch(self, path: str) -> None:
        self._missing(path)

    @web.authenticated
    def delete(self, path: str) -> None:
        self._missing(path)
