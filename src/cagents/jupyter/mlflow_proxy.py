"""A reverse proxy from `{base_url}cagents/mlflow/` to the workbench's MLflow server.

Why: MLflow answers `X-Frame-Options: SAMEORIGIN`, so its UI can only be framed from its own
origin; served through the Jupyter server it shares JupyterLab's origin and Jupyter's login.

Every method needs Jupyter's authentication. State-changing methods also need Jupyter's XSRF
check, which MLflow's UI (plain `fetch` calls) cannot do by itself, so two things make it work:

* HTML pages served by the proxy set the cookie `mlflow-request-header-X-XSRFToken` (path: the
  proxy prefix) to Jupyter's XSRF token; MLflow's UI sends every `mlflow-request-header-NAME`
  cookie as header NAME on its API calls, so they pass Jupyter's own check.
* A request that fails that check is still accepted when the browser says it comes from this
  same origin (an `Origin` header equal to the server's own scheme and host; browsers always
  send it on cross-origin writes and cannot be made to forge it), the OWASP origin check.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any
from urllib.parse import urlsplit

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from cagents.errors import CagentsError

__all__ = ["PROXY_PATH", "PROXY_ROOT", "MlflowProxyHandler", "MlflowRootRedirect", "MlflowUpstream"]

#: The route, relative to the server's base URL.
PROXY_PATH = r"cagents/mlflow/(.*)"
PROXY_PREFIX = "cagents/mlflow/"
#: The prefix without its slash, redirected so the UI's relative links resolve under the prefix.
PROXY_ROOT = "cagents/mlflow"
#: MLflow's UI turns cookies with this prefix into request headers.
XSRF_HEADER_COOKIE = "mlflow-request-header-X-XSRFToken"
REQUEST_TIMEOUT = 300.0

_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade", "proxy-connection",
})
# Jupyter's credentials stay with Jupyter; Host/Origin/Referer would name Jupyter's origin,
# which MLflow's host and CORS checks do not know; the client sets length and encoding.
_DROP_REQUEST = _HOP_BY_HOP | {
    "host", "authorization", "x-xsrftoken", "x-csrftoken", "origin", "referer", "cookie",
    "content-length", "accept-encoding",
}
_DROP_RESPONSE = _HOP_BY_HOP | {"content-length", "content-encoding", "server", "date", "x-frame-options"}


class MlflowUpstream:
    """The MLflow server behind the proxy: started on first use, stopped with the Jupyter server."""

    def __init__(self, *, start_timeout: float = 120.0) -> None:
        self.start_timeout = start_timeout
        self._server: Any = None  # cagents.observe.MlflowServer, imported when first needed
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def server(self) -> Any:
        """The managed `MlflowServer`, if one was created."""
        return self._server

    def remote_url(self) -> str | None:
        """The tracking URI when it is an http(s) server the workbench does not run, else None."""
        from cagents.observe import ObserveSettings

        settings = ObserveSettings.from_env()
        return settings.tracking_uri if settings.is_remote else None

    async def url(self) -> str:
        """Base URL of the running managed server; starts it (off the event loop) when needed."""
        server = self._server
        if server is not None and server.running and server.url is not None:
            return str(server.url)
        return await asyncio.get_running_loop().run_in_executor(None, self._start)

    def _start(self) -> str:
        from cagents.observe import MlflowServer, ObserveSettings

        with self._lock:  # guards creation only: stop() must not wait for a start to finish
            if self._stopped:
                raise _ProxyError(503, "the Jupyter server is shutting down")
            if self._server is None:
                # No `--allowed-hosts`: the proxy sends the upstream's own Host (127.0.0.1:PORT),
                # which MLflow's defaults (localhost addresses with any port) accept; a bare
                # `127.0.0.1,localhost` list would reject it, since entries must match the port.
                self._server = MlflowServer(ObserveSettings.from_env(), start_timeout=self.start_timeout)
            server = self._server
        # MlflowServer.start is idempotent and locked; stop() cancels a start in progress.
        return str(server.start())

    def stop(self) -> None:
        """Stop the managed server (and its workers), if this upstream started one."""
        with self._lock:
            self._stopped = True
            server = self._server
        if server is not None:
            server.stop()


class _ProxyError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": message, **extra}


class MlflowRootRedirect(JupyterHandler):
    """`cagents/mlflow` -> `cagents/mlflow/`: MLflow's UI loads its assets relative to the page."""

    @web.authenticated
    def get(self) -> None:
        target = url_path_join(self.base_url, PROXY_PREFIX)
        if self.request.query:
            target += f"?{self.request.query}"
        self.redirect(target)


class MlflowProxyHandler(JupyterHandler):
    """Forwards one request to the MLflow server and its answer back, under Jupyter's auth."""

    auth_resource = "cagents"

    def initialize(self, upstream: MlflowUpstream) -> None:
        self.upstream = upstream

    # ---- XSRF ---------------------------------------------------------------------------
    def check_xsrf_cookie(self) -> None:
        """Jupyter's XSRF check, or else a same-origin `Origin` header (see the module docstring)."""
        try:
            super().check_xsrf_cookie()
        except web.HTTPError:
            if self.request.method in {"GET", "HEAD", "OPTIONS"} or not self._same_origin():
                raise

    def _same_origin(self) -> bool:
        origin = self.request.headers.get("Origin")
        if not origin:
            return False
        return origin.rstrip("/").lower() == f"{self.request.protocol}://{self.request.host}".lower()

    # ---- methods ------------------------------------------------------------------------
    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        await self._proxy(path)

    @web.authenticated
    @authorized
    async def head(self, path: str) -> None:
        await self._proxy(path)

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        await self._proxy(path)

    @web.authenticated
    @authorized
    async def put(self, path: str) -> None:
        await self._proxy(path)

    @web.authenticated
    @authorized
    async def patch(self, path: str) -> None:
        await self._proxy(path)

    @web.authenticated
    @authorized
    async def delete(self, path: str) -> None:
        await self._proxy(path)

    # ---- forwarding ---------------------------------------------------------------------
    async def _proxy(self, path: str) -> None:
        try:
            try:
                remote = self.upstream.remote_url()
                if remote is not None:
                    raise _ProxyError(404, "MLflow runs on a remote tracking server that the "
                                      "workbench does not proxy; open it directly", url=remote)
                base = await self.upstream.url()
            except CagentsError as error:
                raise _ProxyError(503, f"the MLflow server could not be started: {error}") from None
            response = await self._forward(base, path)
        except _ProxyError as error:
            self._json(error.status, error.body)
            return
        self._relay(base, response)

    async def _forward(self, base: str, path: str) -> Any:
        url = f"{base}/{path}"
        if self.request.query:
            url += f"?{self.request.query}"
        headers = {name: value for name, value in self.request.headers.get_all()
                   if name.lower() not in _DROP_REQUEST}
        headers["Host"] = urlsplit(base).netloc
        cookies = self._upstream_cookies()
        if cookies:
            headers["Cookie"] = cookies
        method = self.request.method or "GET"
        body = self.request.body if method in {"POST", "PUT", "PATCH", "DELETE"} else None
        if method in {"POST", "PUT", "PATCH"} and body is None:
            body = b""
        request = HTTPRequest(url, method=method, headers=headers, body=body,
                              allow_nonstandard_methods=True, follow_redirects=False,
                              decompress_response=True, request_timeout=REQUEST_TIMEOUT,
                              connect_timeout=30.0)
        try:
            return await AsyncHTTPClient().fetch(request, raise_error=False)
        except (HTTPClientError, OSError) as error:
            raise _ProxyError(502, f"the MLflow server at {base} did not answer: {error}") from None

    def _upstream_cookies(self) -> str:
        """The browser's cookies minus Jupyter's (login, XSRF) and the ones meant for MLflow's UI."""
        jupyter_login = self.identity_provider.get_cookie_name(self)
        kept = [f"{name}={morsel.value}" for name, morsel in self.request.cookies.items()
                if name not in {jupyter_login, "_xsrf", XSRF_HEADER_COOKIE}
                and not name.startswith("username-")]
        return "; ".join(kept)

    def _relay(self, base: str, response: Any) -> None:
        if response.code == 599:  # no HTTP answer at all (reset, timeout)
            self._json(502, {"error": f"the MLflow server at {base} did not answer: {response.error}"})
            return
        self.set_status(response.code, response.reason)
        for name in {name for name, _ in response.headers.get_all()}:
            self.clear_header(name)
        for name, value in response.headers.get_all():
            lowered = name.lower()
            if lowered in _DROP_RESPONSE:
                continue
            if lowered == "location" and value.startswith(base):
                value = url_path_join(self.base_url, PROXY_PREFIX, value[len(base):])
            self.add_header(name, value)
        # Same origin only: the point of the proxy is that JupyterLab may frame the UI.
        self.set_header("X-Frame-Options", "SAMEORIGIN")
        content_type = response.headers.get("Content-Type", "")
        if self.request.method == "GET" and content_type.startswith("text/html"):
            self.set_cookie(XSRF_HEADER_COOKIE, self.xsrf_token.decode("ascii"),
                            path=url_path_join(self.base_url, PROXY_PREFIX), samesite="Strict")
        if response.code in (204, 304) or self.request.method == "HEAD":
            self.finish()
        else:
            self.finish(response.body or b"")

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self.clear()
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(body))
