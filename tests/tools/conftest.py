"""Fixtures for the tool tests: a workspace context, a real HTTP server on 127.0.0.1, and a
guard that records every outgoing connection and refuses any that is not loopback."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cagents.tools import ToolContext


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    root.mkdir()
    return root


@pytest.fixture
def ctx(workspace: Path) -> ToolContext:
    return ToolContext(workspace=workspace, env={}, timeout=10.0)


@dataclass
class ConnectLog:
    """Every address a socket tried to connect to during the test."""

    attempts: list[Any] = field(default_factory=list)

    def non_loopback(self) -> list[Any]:
        return [address for address in self.attempts if not _is_loopback(address)]


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # a unix socket path
    ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None) or ip
    return bool(mapped.is_loopback)


@pytest.fixture(autouse=True)
def connect_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnectLog]:
    """Record each socket connect; refuse (and fail the test on) any non-loopback address."""
    log = ConnectLog()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def _guard(address: Any) -> None:
        log.attempts.append(address)
        if not _is_loopback(address):
            raise OSError(f"test guard: refused to connect to {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        _guard(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _guard(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield log
    assert log.non_loopback() == [], "a test tried to reach a non-loopback address"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class LocalServer:
    """A real HTTP server on 127.0.0.1 with a few fixed routes and a request log."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.search_results = {
            "tavily": {
                "results": [
                    {"title": "Tavily one", "url": "https://one.example", "content": "first"},
                    {"title": "Tavily two", "url": "https://two.example", "content": "second"},
                ]
            },
            "serper": {
                "organic": [
                    {"title": "Serper one", "link": "https://s1.example", "snippet": "s-first"},
                ]
            },
        }
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(
                    Recorded(self.command, self.path, dict(self.headers.items()), body)
                )
                server.route(self, body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def route(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        parts = urlsplit(h.path)
        query = parse_qs(parts.query)
        path = parts.path
        if path == "/json":
            self.send(h, 200, json.dumps({"hello": "world"}).encode(), "application/json")
        elif path == "/echo":
            echo = {
                "method": h.command,
                "body": body.decode(),
                "host": h.headers.get("Host"),
                "authorization": h.headers.get("Authorization"),
                "content_type": h.headers.get("Content-Type"),
            }
            self.send(h, 200, json.dumps(echo).encode(), "application/json")
        elif path == "/html":
            page = (
                "<html><head><title> A  Test Page </title><style>body {color: red}</style>"
                "<script>var secret = 1;</script></head><body><h1>Heading</h1>"
                "<p>First   paragraph &amp; more.</p><div>Second<br>line</div>"
                "<noscript>enable js</noscript></body></html>"
            )
            self.send(h, 200, page.encode(), "text/html; charset=utf-8")
        elif path == "/bightml":
            page = "<html><body>" + "<p>" + "word " * 10_000 + "</p></body></html>"
            self.send(h, 200, page.encode(), "text/html")
        elif path == "/big":
            self.send(h, 200, b"x" * 2_000_000, "text/plain")
        elif path == "/binary":
            self.send(h, 200, b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "image/png")
        elif path.startswith("/status/"):
            self.send(h, int(path.rsplit("/", 1)[1]), b"nope", "text/plain")
        elif path == "/redirect":
            h.send_response(int(query.get("code", ["302"])[0]))
            h.send_header("Location", query["to"][0])
            h.send_header("Content-Length", "0")
            h.end_headers()
        elif path.startswith("/loop/"):
            step = int(path.rsplit("/", 1)[1])
            h.send_response(302)
            h.send_header("Location", f"/loop/{step + 1}")
            h.send_header("Content-Length", "0")
            h.end_headers()
        elif path in ("/tavily/search", "/serper/search"):
            provider = path.split("/")[1]
            self.send(
                h, 200, json.dumps(self.search_results[provider]).encode(), "application/json"
            )
        elif path == "/badkey/search":
            self.send(h, 401, b'{"detail": "bad key"}', "application/json")
        else:
            self.send(h, 404, b"not found", "text/plain")

    @staticmethod
    def send(h: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    local.thread.start()
    try:
        yield local
    finally:
        local.httpd.shutdown()
        local.httpd.server_close()
        local.thread.join(timeout=5)
