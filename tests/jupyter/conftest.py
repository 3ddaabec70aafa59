"""A real Jupyter server (pytest-jupyter) with the `cagents` extension and a local MLflow store.

pytest-jupyter's fixtures and hooks are imported here rather than named in `pytest_plugins`:
pytest refuses `pytest_plugins` outside the top-level conftest, and its hooks (which run
coroutine tests on their own loop) would otherwise apply to the whole suite instead of this
folder. Tests here are synchronous and drive the server's loop with `jp_asyncio_loop`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403  (fixtures and hooks, scoped to this folder)


@pytest.fixture
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite tracking store in the test's tmp folder, as the workbench's managed server uses."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture
def jp_server_config(mlflow_store: str) -> dict[str, Any]:
    """Enable the extension exactly as `jupyter-config/jupyter_server_config.d/cagents.json` does."""
    return {"ServerApp": {"jpserver_extensions": {"cagents.jupyter": True}}}


@pytest.fixture
def api(jp_fetch: Any, jp_asyncio_loop: Any, jp_serverapp: Any, jp_base_url: str) -> Any:
    """The REST API of the server under test (see `support.rest_api.Api`)."""
    from support import rest_api

    base = f"http://127.0.0.1:{jp_serverapp.port}{jp_base_url}"
    return rest_api.Api(jp_fetch, jp_asyncio_loop, base, jp_serverapp.identity_provider.token)


@pytest.fixture
def runtime(jp_serverapp: Any) -> Any:
    """The extension's `ServerRuntime` (its workbench, live runs and deployment token)."""
    (app,) = jp_serverapp.extension_manager.extension_apps["cagents.jupyter"]
    return app.runtime
