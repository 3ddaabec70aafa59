"""The workbench's own `mlflow server` for a local tracking store: started on demand, watched, stopped.

One worker on 127.0.0.1 and a free port, the store the tracer writes (`sqlite:///<home>/mlflow.db`)
and artifacts under `<home>/mlartifacts`. The server runs in its own process group, so
stopping it (or cleaning up after it died) ends its workers too; a watchdog thread starts
it again if it dies. With an http(s) tracking URI nothing is started: `url` is that URI.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import IO

from cagents.errors import CagentsError
from cagents.observe.settings import ARTIFACTS_DIRNAME, ObserveSettings

__all__ = ["MlflowServer", "MlflowServerError"]

_LOG_TAIL = 2000


class MlflowServerError(CagentsError):
    """The local MLflow server could not be started or does not answer."""

    http_status = 503


class MlflowServer:
    """A managed `mlflow server` process; `start()` returns its URL once `/health` answers."""

    def __init__(
        self,
        settings: ObserveSettings | None = None,
        *,
        port: int | None = None,
        allowed_hosts: str | None = None,
        start_timeout: float = 120.0,
        stop_timeout: float = 20.0,
        watch_interval: float = 0.5,
        max_restarts: int = 5,
        python: str | None = None,
    ):
        self.settings = settings if settings is not None else ObserveSettings.from_env()
        self.host = "127.0.0.1"
        self.allowed_hosts = allowed_hosts
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.watch_interval = watch_interval
        self.max_restarts = max_restarts
        self.python = python or sys.executable
        self.restarts = 0
        #: Why the server is down (the last failed restart), if it is.
        self.problem: str | None = None
        #: True once the watchdog stopped restarting the server (`max_restarts` failed starts).
        self.gave_up = False
        self._port = port
        self._port_named = port is not None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_start = 0
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None
        _RUNNING.add(self)

    # ---- what hosts read ----------------------------------------------------------------
    @property
    def managed(self) -> bool:
        """True when the tracking store is local, so the workbench runs the server itself."""
        return not self.settings.is_remote

    @property
    def url(self) -> str | None:
        """Base URL of the MLflow UI and REST API; None until a managed server has started."""
        if not self.managed:
            return self.settings.tracking_uri.rstrip("/")
        if self._process is None or self._port is None:
            return None
        return f"http://{self.host}:{self._port}"

    @property
    def running(self) -> bool:
        """True while a managed server process is alive (it may still be starting)."""
        process = self._process
        return process is not None and process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def log_path(self) -> Path:
        return self.settings.home / "logs" / "mlflow-server.log"

    def is_healthy(self, timeout: float = 2.0) -> bool:
        """True when `/health` answers OK (for a remote server too)."""
        url = self.url
        return url is not None and _health(url, timeout)

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self) -> str:
        """Start the server (once) and wait until it answers; returns its URL."""
        if not self.managed:
            return self.settings.tracking_uri.rstrip("/")
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                return self.url  # type: ignore[return-value]
            self._stopping.clear()
            self.problem = None
            self.gave_up = False
            self._spawn()
            try:
                self._wait_healthy()
            except BaseException:
                self._terminate()
                raise
            if self._watchdog is None or not self._watchdog.is_alive():
                self._watchdog = threading.Thread(target=self._watch, name="cagents-mlflow-watchdog",
                                                  daemon=True)
                self._watchdog.start()
        return self.url  # type: ignore[return-value]

    def stop(self) -> None:
        """Stop the server and every process it started (terminate, then kill after a timeout)."""
        self._stopping.set()
        with self._lock:
            self._terminate()
        watchdog = self._watchdog
        if watchdog is not None and watchdog is not threading.current_thread():
            watchdog.join(timeout=self.stop_timeout)
        self._watchdog = None

    def __enter__(self) -> MlflowServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<MlflowServer {self.url or 'not started'} store={self.settings.tracking_uri}>"

    # ---- internals ----------------------------------------------------------------------
    def _command(self) -> list[str]:
        artifacts = self.settings.home / ARTIFACTS_DIRNAME
        command = [
            self.python, "-m", "mlflow", "server",
            "--workers", "1",
            "--host", self.host,
            "--port", str(self._port),
            "--backend-store-uri", self.settings.tracking_uri,
            "--serve-artifacts",
            "--artifacts-destination", str(artifacts),
        ]
        if self.allowed_hosts:
            command += ["--allowed-hosts", self.allowed_hosts]
        return command

    def _spawn(self) -> None:
        if self._port is not None and not _port_free(self.host, self._port):
            if self._port_named:
                raise MlflowServerError(f"port {self._port} on {self.host} is in use; "
                                        "choose another port or leave it out to get a free one")
            self._port = None
        if self._port is None:
            self._port = _free_port(self.host)
        home = self.settings.home
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        (home / ARTIFACTS_DIRNAME).mkdir(exist_ok=True)
        self.log_path.parent.mkdir(exist_ok=True)
        if self._log is None or self._log.closed:
            self._log = open(self.log_path, "ab")  # noqa: SIM115 (kept open for the child's life)
        self._log_start = self._log.tell()
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        try:
            self._process = subprocess.Popen(
                self._command(), stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                env=env, start_new_session=True, cwd=str(home),
            )
        except OSError as error:
            raise MlflowServerError(f"cannot run {self.python} -m mlflow server: {error}") from None

    def _wait_healthy(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        url = self.url
        assert url is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise MlflowServerError(
                    f"mlflow server exited with code {self._process.returncode} while starting"
                    f"{self._hint()}; log {self.log_path}:\n{self._log_tail()}"
                )
            if self._stopping.is_set():
                raise MlflowServerError("mlflow server start cancelled (stop() was called)")
            if _health(url, 1.0):
                return
            time.sleep(0.25)
        raise MlflowServerError(
            f"mlflow server did not answer {url}/health within {self.start_timeout:g} s; "
            f"log {self.log_path}:\n{self._log_tail()}"
        )

    def _hint(self) -> str:
        import importlib.util

        if importlib.util.find_spec("mlflow") is None:
            return " (MLflow is not installed: `pip install 'cagents[mlflow]'`)"
        return ""

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(max(self._log_start, log.seek(0, 2) - _LOG_TAIL))
                return log.read().decode("utf-8", errors="replace")
        except OSError:
            return "(no log)"

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            _end_group(process, self.stop_timeout)
        if self._log is not None and not self._log.closed:
            self._log.close()

    def _watch(self) -> None:
        """Start the server again when it dies; give up after `max_restarts` failed starts in a row."""
        failures = 0
        while not self._stopping.wait(self.watch_interval):
            with self._lock:
                process = self._process
                if self._stopping.is_set() or (process is not None and process.poll() is None):
                    continue
                if process is not None:
                    _end_group(process, self.stop_timeout)  # its workers may outlive it
                    self._process = None
                if failures >= self.max_restarts:
                    self.problem = (f"mlflow server could not be restarted ({failures} tries); "
                                    f"last error: {self.problem}")
                    self.gave_up = True
                    return
                self._port_named = False  # a dead server's workers may still hold its port
                try:
                    self._spawn()
                    self._wait_healthy()
                except MlflowServerError as error:
                    failures += 1
                    self.problem = str(error)
                    if self._process is not None:
                        _end_group(self._process, self.stop_timeout)
                        self._process = None
                    continue
                self.restarts += 1
                self.problem = None
                failures = 0


def _end_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Terminate a server's whole process group, then kill what is left after `timeout`."""
    group = process.pid
    _signal_group(group, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + timeout
    while _group_alive(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _group_alive(group):
        _signal_group(group, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.05)
    if process.poll() is None:
        process.kill()
        process.wait(timeout=5)


def _signal_group(group: int, sig: int) -> None:
    try:
        os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _health(url: str, timeout: float) -> bool:
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/health", timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


_RUNNING: weakref.WeakSet[MlflowServer] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """No server outlives the process that started it (unless that process is killed)."""
    for server in list(_RUNNING):
        if server._process is not None:
            server.stop()
