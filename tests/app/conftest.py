"""Fixtures of the app tests: a workbench on a SQLite file of its own in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cagents.app import Workbench


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "wb"


@pytest.fixture
def db_file(home: Path) -> Path:
    return home / "configurable_agents.db"


@pytest.fixture
def workbench(home: Path) -> Iterator[Workbench]:
    with Workbench.open(home=home) as opened:
        yield opened
