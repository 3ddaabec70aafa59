"""A real Docker engine for the docker target's tests, and the wheels its images are built from.

`docker_engine` uses `DOCKER_HOST` when it answers; else, as root with `dockerd` installed, it
starts a private engine with `scripts/dockerd-up.sh` for the session (and stops it after,
unless it was already running); else the tests are skipped, except under `CI=true`, where a
missing engine or base image fails them. Deployment ids of a session share one prefix, so
the checks for leftovers never touch containers that are not this session's.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cagents.deploy.base_image import check_base_image, connect
from cagents.deploy.build_context import Wheelhouse, wheelhouse
from cagents.deploy.docker_target import LABEL_DEPLOYMENT, LABEL_MANAGED
from cagents.errors import DeploymentError

ROOT = Path(__file__).resolve().parents[2]
#: Where a session-started engine keeps its socket and images (the base image survives there).
ENGINE_DIR = Path(os.environ.get("CAGENTS_TEST_DOCKER_DIR", "/var/tmp/cagents-docker"))


@dataclass
class Engine:
    """A Docker engine that answers, with the base image in it."""

    host: str
    client: Any
    #: Every deployment id a test of this session uses starts with it.
    prefix: str = field(default_factory=lambda: f"t{secrets.token_hex(3)}")

    def deployment_id(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def containers(self) -> list[Any]:
        """This session's cagents containers, running or not."""
        found = self.client.containers.list(all=True, filters={"label": f"{LABEL_MANAGED}=true"})
        return [c for c in found if (c.labels or {}).get(LABEL_DEPLOYMENT, "").startswith(self.prefix + "-")]

    def remove_leftovers(self) -> list[str]:
        """Remove this session's containers; their names (a test that passed leaves none)."""
        names = []
        for container in self.containers():
            names.append(container.name)
            container.remove(force=True)
        return names


def _answers(host: str) -> bool:
    try:
        connect(host).close()
    except DeploymentError:
        return False
    return True


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true needs a Docker engine for the docker target's tests: {reason}", pytrace=False)
    pytest.skip(reason)


# Fixtures under a private name, so that importing them into a test module (until a conftest
# does) does not shadow the parameters that use them.
@pytest.fixture(scope="session", name="docker_engine")
def _docker_engine() -> Iterator[Engine]:
    started: Path | None = None
    host = os.environ.get("DOCKER_HOST", "").strip()
    private = f"unix://{ENGINE_DIR}/docker.sock"
    if host:
        if not _answers(host):
            _unavailable(f"DOCKER_HOST={host} does not answer (start it with scripts/dockerd-up.sh)")
    elif _answers(private):
        host = private
    elif os.geteuid() == 0 and shutil.which("dockerd"):
        result = subprocess.run([str(ROOT / "scripts" / "dockerd-up.sh"), str(ENGINE_DIR)],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            _unavailable(f"scripts/dockerd-up.sh failed: {result.stderr.strip()}")
        started = ENGINE_DIR
        host = result.stdout.strip().partition("=")[2]
    else:
        _unavailable("no Docker engine: set DOCKER_HOST, or run as root with dockerd installed "
                     "(apt-get install docker.io)")
    client = connect(host)
    try:
        try:
            check_base_image(client, address=host)
        except DeploymentError as exc:
            _unavailable(str(exc))
        engine = Engine(host=host, client=client)
        yield engine
        engine.remove_leftovers()
    finally:
        client.close()
        if started is not None:
            subprocess.run([str(ROOT / "scripts" / "dockerd-down.sh"), str(started)], check=False)


@pytest.fixture(scope="session", name="wheel_cache")
def _wheel_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One wheelhouse cache for the session (each test has its own workbench home)."""
    return tmp_path_factory.mktemp("wheelhouse")


@pytest.fixture(scope="session", name="wheels")
def _wheels(wheel_cache: Path) -> Wheelhouse:
    return wheelhouse(wheel_cache)
