"""Fixtures of the observability tests: a real MLflow SQLite store shared by a module's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

#: MLflow's internals warn inside the exporter thread (SQLAlchemy 2.1 deprecations raised
#: from its store, type-hint notices it raises and ignores itself); the suite turns warnings
#: into errors, which would make MLflow drop the trace, so these two are let through.
MLFLOW_WARNINGS = (
    "ignore::DeprecationWarning:mlflow.*",
    "ignore::UserWarning:mlflow.*",
)


@pytest.fixture(autouse=True)
def _tracing_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The root conftest turns tracing off for speed; these tests are about tracing."""
    monkeypatch.delenv("CAGENTS_TRACING", raising=False)


@pytest.fixture(scope="module")
def mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite tracking store per test module (creating its tables takes seconds)."""
    return tmp_path_factory.mktemp("mlflow-store") / "mlflow.db"


@pytest.fixture
def tracking_uri(mlflow_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point this test's tracer at the module's store through MLFLOW_TRACKING_URI."""
    uri = f"sqlite:///{mlflow_db}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("CAGENTS_TRACING", raising=False)
    yield uri
