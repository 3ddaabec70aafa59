"""Workflow files, a registry (`cagents deployments start`) and services, all real and on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deploy.helpers import HOLD, TRIAGE

from cagents.deploy.serve_main import ServerThread, bind, uvicorn_server
from cagents.deploy.settings import ServiceConfig


@pytest.fixture
def triage_file(tmp_path: Path) -> Path:
    path = tmp_path / "triage.yaml"
    path.write_text(TRIAGE, encoding="utf-8")
    return path


@pytest.fixture
def hold_file(tmp_path: Path) -> Iterator[Path]:
    from deploy import helpers

    helpers.GATE.clear()
    helpers.CALLS.clear()
    path = tmp_path / "held.yaml"
    path.write_text(HOLD, encoding="utf-8")
    try:
        yield path
    finally:
        helpers.GATE.set()  # never leave a run (or a worker thread) waiting


@dataclass
class Registry:
    """A running `cagents deployments start` registry and its workbench home."""

    url: str
    home: Path
    token: str
    thread: ServerThread

    def workbench(self) -> Any:
        from cagents.app import Workbench

        return Workbench.open(self.home)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    from cagents.app.deployment_token import deployment_token
    from cagents.deploy.registry_app import create_registry_app

    home = tmp_path / "workbench"
    thread = ServerThread(uvicorn_server(create_registry_app(home), grace=1), bind("127.0.0.1", 0)).start()
    try:
        yield Registry(thread.url, home, deployment_token(home), thread)
    finally:
        thread.stop()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., ServerThread]]:
    """Start services in threads (`serve(path, **config)`); all are stopped after the test."""
    started: list[ServerThread] = []

    def start(path: Path, **options: Any) -> ServerThread:
        options.setdefault("home", tmp_path / f"service-{len(started)}")
        options.setdefault("port", 0)
        thread = ServerThread.for_service(ServiceConfig(str(path), **options)).start()
        started.append(thread)
        return thread

    try:
        yield start
    finally:
        for thread in reversed(started):
            thread.stop()
