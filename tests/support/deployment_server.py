"""A stand-in deployed service on 127.0.0.1 for tests: the protocol a cagents deployment speaks.

`GET /health`, `GET /schema` (`{"workflow", "input_schema", "output_schema"}`) and
`POST /execute` with `{"inputs": {...}, "env": {...}, "async": bool}`: inputs are validated
against the input schema (a 422 with FastAPI-style field errors, each echoing its `input` as
FastAPI does), otherwise it answers `{"execution_id", "status", "outputs", "env_keys"}` (202 and
`status: running` when async). Every request is kept in `requests`, so a test can check what
arrived (env values included) and that they went nowhere else. A stdlib threaded HTTP server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

__all__ = ["DeploymentServer", "Received", "closed_port", "deployment_server"]

INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "times": {"type": "integer", "minimum": 1}},
    "required": ["name"],
    "additionalProperties": False,
}
OUTPUT_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"greeting": {"type": "string"}}}


@dataclass
class Received:
    """One request as the service saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


def _greet(inputs: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    return {"greeting": " ".join([f"Hello {inputs['name']}"] * int(inputs.get("times", 1)))}


class DeploymentServer:
    """The service; `healthy`, `token` and `outputs` can be changed by a test at any time."""

    def __init__(self, *, workflow: str = "greet", token: str | None = None,
                 outputs: Callable[[dict[str, Any], dict[str, str]], dict[str, Any]] = _greet) -> None:
        self.workflow = workflow
        self.token = token
        self.outputs = outputs
        self.healthy = True
        self.requests: list[Received] = []
        self.host = "127.0.0.1"
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._count = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> DeploymentServer:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:
                service._serve(self, None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                service._serve(self, body)

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="deployment-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    # ---- the protocol ---------------------------------------------------------------------
    def _serve(self, request: BaseHTTPRequestHandler, body: Any) -> None:
        with self._lock:
            self.requests.append(Received(request.command, request.path, dict(request.headers.items()), body))
        if self.token is not None and request.headers.get("Authorization") != f"Bearer {self.token}":
            return _send(request, 401, {"detail": "Not authenticated"})
        route = (request.command, request.path)
        if route == ("GET", "/health"):
            if not self.healthy:
                return _send(request, 503, {"status": "unhealthy", "detail": "the model gateway is down"})
            return _send(request, 200, {"status": "ok", "workflow": self.workflow})
        if route == ("GET", "/schema"):
            return _send(request, 200, {"workflow": self.workflow, "input_schema": INPUT_SCHEMA,
                                        "output_schema": OUTPUT_SCHEMA})
        if route == ("POST", "/execute"):
            return self._execute(request, body)
        return _send(request, 404, {"detail": "Not Found"})

    def _execute(self, request: BaseHTTPRequestHandler, body: Any) -> None:
        errors = _body_errors(body)
        if errors:
            return _send(request, 422, {"detail": errors})
        with self._lock:
            self._count += 1
            execution_id = f"exec-{self._count}"
        env = body.get("env") or {}
        if body.get("async"):
            return _send(request, 202, {"execution_id": execution_id, "status": "running"})
        return _send(request, 200, {"execution_id": execution_id, "status": "completed",
                                    "outputs": self.outputs(body["inputs"], env), "env_keys": sorted(env)})

    def executions(self) -> list[Received]:
        return [r for r in self.requests if (r.method, r.path) == ("POST", "/execute")]


def _body_errors(body: Any) -> list[dict[str, Any]]:
    """FastAPI-style 422 detail: `loc`, `msg`, `type` and the offending `input`."""
    import jsonschema

    if not isinstance(body, dict):
        return [{"loc": ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type",
                 "input": body}]
    errors: list[dict[str, Any]] = []
    env = body.get("env", {})
    if not isinstance(env, dict):
        errors.append({"loc": ["body", "env"], "msg": "Input should be a valid dictionary",
                       "type": "dict_type", "input": env})
    else:
        errors += [{"loc": ["body", "env", key], "msg": "Input should be a valid string",
                    "type": "string_type", "input": value}
                   for key, value in env.items() if not isinstance(value, str)]
    inputs = body.get("inputs")
    if not isinstance(inputs, dict):
        return errors + [{"loc": ["body", "inputs"], "msg": "Input should be a valid dictionary",
                          "type": "dict_type", "input": inputs}]
    for error in jsonschema.Draft202012Validator(INPUT_SCHEMA).iter_errors(inputs):
        loc = ["body", "inputs", *[str(p) for p in error.absolute_path]]
        if error.validator == "required":
            missing = [name for name in error.validator_value if name not in error.instance]
            errors += [{"loc": [*loc, name], "msg": "Field required", "type": "missing", "input": inputs}
                       for name in missing]
        else:
            errors.append({"loc": loc, "msg": error.message, "type": str(error.validator),
                           "input": error.instance})
    return errors


def _send(request: BaseHTTPRequestHandler, status: int, data: Any) -> None:
    payload = json.dumps(data).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(payload)))
    request.end_headers()
    request.wfile.write(payload)


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def deployment_server() -> Iterator[DeploymentServer]:
    """A running stand-in service for one test (import this fixture into the test module)."""
    server = DeploymentServer().start()
    try:
        yield server
    finally:
        server.stop()
