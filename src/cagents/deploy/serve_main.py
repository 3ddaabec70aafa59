"""Run a workflow service with uvicorn: bind first (a port in use is a clear error), then serve.

`bind` opens the listening socket itself, so the port is known (port 0 picks a free one)
before the app starts and registers, and no other process can take it in between.
"""

from __future__ import annotations

import errno
import logging
import math
import socket
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cagents.errors import DeploymentError

if TYPE_CHECKING:
    import uvicorn
    from typing_extensions import Self

    from cagents.deploy.settings import ServiceConfig

__all__ = ["ServerThread", "bind", "build_server", "port_free", "require_port_free", "serve", "serve_registry",
           "uvicorn_server"]


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; a DeploymentError that says what to do when taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # socket says it is TCP; without it every response waits ~40 ms (Nagle + delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise DeploymentError(
                f"port {port} on {host} is already in use; stop what listens there or choose "
                "another port with --port (0 picks a free one)"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise DeploymentError(f"cannot listen on {host}: no interface has that address; "
                                  "use 127.0.0.1 or 0.0.0.0") from None
        raise DeploymentError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def port_free(host: str, port: int) -> bool:
    """Whether nothing listens on host:port now (checked by binding it for a moment)."""
    try:
        bind(host, port).close()
    except DeploymentError:
        return False
    return True


def require_port_free(host: str, port: int) -> None:
    """A DeploymentError that says what to do when something listens on host:port already."""
    if not port_free(host, port):
        raise DeploymentError(f"port {port} on {host} is already in use; choose another one with "
                              "--port, or leave --port out to take a free one")


def build_server(config: ServiceConfig) -> tuple[uvicorn.Server, socket.socket]:
    """The uvicorn server of the service and its bound socket (config.port set to the real one)."""
    from cagents.deploy.service import create_app

    sock = bind(config.host, config.port)
    config.port = sock.getsockname()[1]
    try:
        app = create_app(config)
    except BaseException:
        sock.close()
        raise
    return uvicorn_server(app, access_log=config.access_log, grace=config.grace), sock


def serve(config: ServiceConfig) -> int:
    """Serve until SIGINT/SIGTERM; the exit code (1 when the app could not start)."""
    _log_to_stderr()
    server, sock = build_server(config)
    app: Any = server.config.app
    service = app.state.service
    print(f"serving workflow '{service.spec.name}' as deployment '{service.deployment_id}' at "
          f"http://{config.host}:{config.port} (API docs: /docs)", file=sys.stderr, flush=True)
    if config.dashboard_url:
        print(f"registering with the workbench at {config.dashboard_url}", file=sys.stderr, flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0 if server.started else 1


def serve_registry(host: str, port: int, home: Path) -> int:
    """`cagents deployments start`: the registry until SIGINT/SIGTERM."""
    from cagents.deploy.registry_app import create_registry_app

    _log_to_stderr()
    sock = bind(host, port)
    port = sock.getsockname()[1]
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
    server = uvicorn_server(create_registry_app(home, url=url), grace=5.0)
    print(f"deployment registry of {home} at {url}/cagents/api/ (token: {home}/deployment_token)",
          file=sys.stderr, flush=True)
    print(f"services register with CAGENTS_DASHBOARD_URL={url}", file=sys.stderr, flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0 if server.started else 1


def _log_to_stderr() -> None:
    logger = logging.getLogger("cagents")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def uvicorn_server(app: Any, *, access_log: bool = False, grace: float = 30.0) -> uvicorn.Server:
    import uvicorn

    return uvicorn.Server(uvicorn.Config(
        app, log_level="info", access_log=access_log, lifespan="on",
        timeout_graceful_shutdown=max(math.ceil(grace), 1), server_header=False,
        # Longer than the idle time of clients' connection pools (httpx: 5 s), so a client never
        # reuses a connection the server is closing at that moment.
        timeout_keep_alive=75,
    ))


class ServerThread:
    """An app served from a background thread of this process (tests, notebooks)."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket) -> None:
        self.server = server
        self._sock = sock
        host, port = sock.getsockname()[:2]
        self.port = port
        self.url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
        self._thread = threading.Thread(target=self._run, name="cagents-server", daemon=True)
        self.error: BaseException | None = None

    @classmethod
    def for_service(cls, config: ServiceConfig) -> ServerThread:
        return cls(*build_server(config))

    @property
    def app(self) -> Any:
        return self.server.config.app

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self._sock])
        except BaseException as exc:  # noqa: BLE001  (kept for the starter to raise)
            self.error = exc

    def start(self, timeout: float = 60.0) -> Self:
        import time

        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise DeploymentError(f"the server did not start: {self.error or 'see the log'}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 120.0) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
