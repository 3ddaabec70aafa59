"""While JupyterLab's server runs, `cagents deploy` finds it as the registry of its home."""

from __future__ import annotations

import json
import os
from typing import Any

from cagents.deploy.registry_marker import REGISTRY_FILE, discover, unpublish


def test_the_server_publishes_itself_as_the_registry_of_its_home(api: Any, runtime: Any, jp_serverapp: Any) -> None:
    assert api("GET", "health").code == 200  # the loop has run the start-up callbacks
    marker = runtime.home / REGISTRY_FILE
    data = json.loads(marker.read_text())
    assert data["pid"] == os.getpid()
    assert data["url"] == jp_serverapp.connection_url
    assert discover(runtime.home) == jp_serverapp.connection_url

    # A service started by `cagents deploy` registers there with the deployment token.
    token = runtime.deployment_token()
    reply = api.anonymous("POST", "deployments", {
        "deployment_id": "svc-1", "deployment_name": "svc", "workflow_name": "wf", "host": "127.0.0.1", "port": 9,
    }, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert reply.code == 201, reply.body

    runtime.unpublish_registry()
    assert not marker.exists()
    unpublish(runtime.home)  # nothing left to remove: no error


def test_a_marker_of_a_dead_process_is_ignored(tmp_path: Any) -> None:
    (tmp_path / REGISTRY_FILE).write_text(json.dumps({"url": "http://127.0.0.1:1/", "pid": 2**22 + 12345}))
    assert discover(tmp_path) is None
    (tmp_path / REGISTRY_FILE).write_text("not json")
    assert discover(tmp_path) is None
