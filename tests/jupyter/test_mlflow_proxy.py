"""The MLflow UI and REST API served through the Jupyter server, against a real `mlflow server`."""

from __future__ import annotations

import asyncio
import functools
import json
import os
from http.cookies import SimpleCookie
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

pytestmark = pytest.mark.timeout(300)

SEARCH = ("cagents", "mlflow", "api", "2.0", "mlflow", "experiments", "search")


@pytest.fixture
def jp_fetch(jp_fetch: Any) -> Any:
    """pytest-jupyter's client with room for the first request, which waits for `mlflow server`
    to start (10 s on an idle machine, more on a loaded one)."""
    return functools.partial(jp_fetch, request_timeout=180)


def _run(loop: asyncio.AbstractEventLoop, coroutine: Any) -> HTTPResponse:
    return loop.run_until_complete(coroutine)


def _extension(jp_serverapp: Any) -> Any:
    (app,) = jp_serverapp.extension_manager.extension_apps["cagents.jupyter"]
    return app


def _process_gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_health_ui_and_rest_go_through_the_proxy(
    jp_fetch: Any, jp_asyncio_loop: Any, jp_serverapp: Any,
) -> None:
    health = _run(jp_asyncio_loop, jp_fetch("cagents", "mlflow", "health"))
    assert health.code == 200
    assert health.body.decode().strip() == "OK"

    bare = _run(jp_asyncio_loop, jp_fetch("cagents", "mlflow", follow_redirects=False, raise_error=False))
    assert bare.code == 302
    assert bare.headers["Location"].endswith("/cagents/mlflow/")

    ui = _run(jp_asyncio_loop, jp_fetch("cagents/mlflow/"))
    assert ui.code == 200
    assert ui.headers["Content-Type"].startswith("text/html")
    assert b"<html" in ui.body.lower()
    assert ui.headers.get_list("X-Frame-Options") == ["SAMEORIGIN"]

    search = _run(jp_asyncio_loop, jp_fetch(*SEARCH, method="POST", body=json.dumps({"max_results": 10}),
                                            headers={"Content-Type": "application/json"}))
    assert search.code == 200
    names = [experiment["name"] for experiment in json.loads(search.body)["experiments"]]
    assert names == ["Default"]

    created = _run(jp_asyncio_loop, jp_fetch(
        "cagents", "mlflow", "api", "2.0", "mlflow", "experiments", "create", method="POST",
        body=json.dumps({"name": "through-proxy"}), headers={"Content-Type": "application/json"}))
    experiment_id = json.loads(created.body)["experiment_id"]
    got = _run(jp_asyncio_loop, jp_fetch("cagents", "mlflow", "api", "2.0", "mlflow", "experiments", "get",
                                         params={"experiment_id": experiment_id}))
    assert json.loads(got.body)["experiment"]["name"] == "through-proxy"

    missing = _run(jp_asyncio_loop, jp_fetch("cagents", "mlflow", "api", "2.0", "mlflow", "experiments",
                                             "get", params={"experiment_id": "987654"}, raise_error=False))
    assert missing.code == 404  # MLflow's own status comes back, not a proxy error
    assert json.loads(missing.body)["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    # Other methods reach MLflow too: it answers them as it answers a direct request.
    upstream = _extension(jp_serverapp).mlflow.server.url
    for method in ("PUT", "PATCH", "DELETE"):
        direct = _run(jp_asyncio_loop, AsyncHTTPClient().fetch(
            f"{upstream}/health", method=method, body=b"{}" if method != "DELETE" else None,
            raise_error=False, allow_nonstandard_methods=True))
        proxied = _run(jp_asyncio_loop, jp_fetch(
            "cagents", "mlflow", "health", method=method, body=b"{}" if method != "DELETE" else None,
            raise_error=False, allow_nonstandard_methods=True))
        assert (proxied.code, proxied.body) == (direct.code, direct.body), method


def test_the_ui_in_a_browser_session_passes_jupyters_xsrf_check(
    jp_serverapp: Any, http_server_client: Any, jp_base_url: str, jp_asyncio_loop: Any,
) -> None:
    """Cookie-authenticated writes need the XSRF header (which the UI sends from its cookie) or a same Origin."""
    token = jp_serverapp.identity_provider.token
    page = _run(jp_asyncio_loop, http_server_client.fetch(f"{jp_base_url}cagents/mlflow/?token={token}",
                                                          request_timeout=180))
    assert page.code == 200
    cookies: SimpleCookie = SimpleCookie()
    for header in page.headers.get_list("Set-Cookie"):
        cookies.load(header)
    header_cookie = cookies["mlflow-request-header-X-XSRFToken"]
    assert header_cookie["path"] == f"{jp_base_url}cagents/mlflow/"
    browser_cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())
    url = f"{jp_base_url}cagents/mlflow/api/2.0/mlflow/experiments/search"
    origin = f"http://127.0.0.1:{http_server_client.get_http_port()}"

    def post(**headers: str) -> HTTPResponse:
        return _run(jp_asyncio_loop, http_server_client.fetch(
            url, method="POST", body=json.dumps({"max_results": 5}), raise_error=False,
            headers={"Content-Type": "application/json", "Cookie": browser_cookies, **headers}))

    assert post().code == 403
    assert post(Origin="http://evil.example").code in (403, 404)
    assert post(**{"X-XSRFToken": header_cookie.value}).code == 200
    assert post(Origin=origin).code == 200


def test_unauthenticated_requests_are_refused(
    http_server_client: Any, jp_base_url: str, jp_asyncio_loop: Any, jp_serverapp: Any,
) -> None:
    for method, body in (("GET", None), ("POST", b"{}"), ("DELETE", None)):
        response = _run(jp_asyncio_loop, http_server_client.fetch(
            f"{jp_base_url}cagents/mlflow/api/2.0/mlflow/experiments/search", method=method, body=body,
            raise_error=False, follow_redirects=False, allow_nonstandard_methods=True))
        assert response.code in (302, 401, 403), method
        if response.code == 302:
            assert "/login" in response.headers["Location"]
    assert _extension(jp_serverapp).mlflow.server is None  # nothing was started for them


def test_a_remote_tracking_server_is_linked_not_proxied(
    jp_fetch: Any, jp_asyncio_loop: Any, jp_serverapp: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://mlflow.example.org/")
    response = _run(jp_asyncio_loop, jp_fetch("cagents/mlflow/", raise_error=False))
    assert response.code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.body)
    assert body["url"] == "https://mlflow.example.org/"
    assert "remote" in body["error"]
    assert _extension(jp_serverapp).mlflow.server is None


def test_a_server_that_cannot_start_answers_503_with_the_reason(
    jp_fetch: Any, jp_asyncio_loop: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "nosuchscheme://nowhere")
    response = _run(jp_asyncio_loop, jp_fetch("cagents", "mlflow", "health", raise_error=False))
    assert response.code == 503
    error = json.loads(response.body)["error"]
    assert "could not be started" in error
    assert "exited with code" in error


def test_the_mlflow_server_stops_with_the_jupyter_server(
    jp_fetch: Any, jp_asyncio_loop: Any, jp_serverapp: Any,
) -> None:
    assert _run(jp_asyncio_loop, jp_fetch("cagents", "mlflow", "health")).code == 200
    server = _extension(jp_serverapp).mlflow.server
    pid = server.pid
    assert pid is not None and not _process_gone(pid)

    jp_asyncio_loop.run_until_complete(jp_serverapp._cleanup())

    assert _process_gone(pid)
    assert not server.running
