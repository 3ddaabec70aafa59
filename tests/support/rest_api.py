"""A small client for the workbench's REST API in tests: JSON in, a response with `.json` out.

`api(...)` goes through pytest-jupyter's `jp_fetch` (token-authenticated); `anonymous(...)`
and `browser(...)` send what an unauthenticated client and a cookie-authenticated browser
send, for the auth and XSRF tests.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPRequest


@dataclass
class Reply:
    code: int
    body: bytes
    headers: Any

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    """Calls `{base_url}cagents/api/PATH` on the test server."""

    def __init__(self, fetch: Any, loop: asyncio.AbstractEventLoop, base_url: str, token: str) -> None:
        self.fetch = fetch
        self.loop = loop
        self.base_url = base_url  # http://127.0.0.1:PORT/a%40b/
        self.token = token

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def __call__(
        self, method: str, path: str, body: Any = None, *, params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None, raw_body: bytes | str | None = None,
    ) -> Reply:
        payload: Any = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
        if payload is None and method in ("POST", "PUT", "PATCH"):
            payload = ""
        kwargs: dict[str, Any] = {"method": method, "raise_error": False, "headers": headers or {}}
        if payload is not None:
            kwargs["body"] = payload
        if params:
            kwargs["params"] = {k: v for k, v in params.items() if v is not None}
        response = self.run(self.fetch("cagents", "api", *path.split("/"), **kwargs))
        return Reply(response.code, response.body, response.headers)

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.base_url}cagents/api/{path}{query}"

    def anonymous(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
        """A request with no Jupyter credentials at all."""
        payload = json.dumps(body) if body is not None else ("" if method in ("POST", "PUT", "PATCH") else None)
        request = HTTPRequest(self.url(path), method=method, body=payload, headers=headers or {},
                              follow_redirects=False, allow_nonstandard_methods=True)
        response = self.run(AsyncHTTPClient().fetch(request, raise_error=False))
        return Reply(response.code, response.body, response.headers)

    def browser_cookies(self) -> str:
        """Log in as a browser does (token in the URL of a page) and return its cookies."""
        request = HTTPRequest(f"{self.base_url}tree?token={self.token}", follow_redirects=False)
        response = self.run(AsyncHTTPClient().fetch(request, raise_error=False))
        cookies = [header.split(";", 1)[0] for header in response.headers.get_list("Set-Cookie")]
        return "; ".join(cookies)

    def browser(self, method: str, path: str, body: Any = None, *, cookies: str, xsrf: str | None) -> Reply:
        """A request with the login cookie, and with `X-XSRFToken` when `xsrf` is given."""
        headers = {"Cookie": cookies, "Content-Type": "application/json"}
        if xsrf is not None:
            headers["X-XSRFToken"] = xsrf
            headers["Cookie"] = f"{cookies}; _xsrf={xsrf}"
        payload = json.dumps(body) if body is not None else ("" if method in ("POST", "PUT", "PATCH") else None)
        request = HTTPRequest(self.url(path), method=method, body=payload, headers=headers,
                              follow_redirects=False, allow_nonstandard_methods=True)
        response = self.run(AsyncHTTPClient().fetch(request, raise_error=False))
        return Reply(response.code, response.body, response.headers)
