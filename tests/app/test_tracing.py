"""Tracing through the app: the MLflow trace id lands on the execution row, or why it is missing."""

from __future__ import annotations

import pytest

from cagents.app import Workbench, run_workflow
from support.llm_server import ScriptedLLMServer

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

FLOW = """
schema_version: "1.0"
flow: {name: traced_flow}
config: {llm: {model: gpt-4o-mini}}
state:
  fields:
    topic: {type: str, required: true}
    title: {type: str}
nodes:
  - {id: title, prompt: "A title for {topic}", outputs: [title]}
edges:
  - {from: START, to: title}
  - {from: title, to: END}
"""


def test_trace_id_is_stored_on_the_execution_row(
    llm_env: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAGENTS_TRACING", "on")
    llm_env.reply(json={"title": "Tides, briefly"})
    with Workbench.open() as workbench:
        result = run_workflow(workbench, FLOW, {"topic": "tides"})
    # close() waited for the export; the row now names the trace.
    with Workbench.open() as workbench:
        record = workbench.db.executions.get(result.execution_id)
    assert result.status == "completed"
    assert record.trace_id, record.trace_note

    import mlflow

    from cagents.observe import ObserveSettings

    client = mlflow.MlflowClient(tracking_uri=ObserveSettings.from_env().tracking_uri)
    trace = client.get_trace(record.trace_id)
    assert trace.info.tags["cagents.execution_id"] == result.execution_id
    assert trace.info.tags["cagents.workflow"] == "traced_flow"


def test_unreachable_tracking_server_is_noted_not_fatal(
    llm_env: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("CAGENTS_TRACING", "on")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    llm_env.reply(json={"title": "Tides, briefly"})
    with Workbench.open() as workbench:
        result = run_workflow(workbench, FLOW, {"topic": "tides"})
    with Workbench.open() as workbench:
        record = workbench.db.executions.get(result.execution_id)
    assert result.status == "completed"
    assert record.trace_id is None
    assert record.trace_note
