"""Where traces go and whether they are written: environment, workflow config, defaults."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import cagents
from cagents.errors import ConfigError
from cagents.observe import ObserveSettings, tracer_for

WORKFLOW = """
schema_version: "1.0"
flow: {name: settings_wf}
state:
  fields:
    q: {type: str, required: true}
    a: {type: str}
nodes:
  - {id: answer, prompt: "Answer {q}", outputs: [a]}
edges:
  - {from: START, to: answer}
  - {from: answer, to: END}
config:
  llm: {provider: simulator}
OBSERVABILITY
"""


def _workflow(observability: str = "") -> cagents.Workflow:
    block = textwrap.indent(textwrap.dedent(observability), "  ") if observability else ""
    return cagents.load(textwrap.dedent(WORKFLOW).replace("OBSERVABILITY", block))


def test_defaults_store_under_the_workbench_home(tmp_path: Path) -> None:
    settings = ObserveSettings.from_env(environ={"CAGENTS_HOME": str(tmp_path)})
    assert settings.enabled and settings.disabled_reason is None
    assert settings.tracking_uri == f"sqlite:///{tmp_path}/mlflow.db"
    assert settings.sqlite_path == tmp_path / "mlflow.db"
    assert settings.artifact_location == (tmp_path / "mlartifacts").as_uri()
    assert settings.is_local and not settings.is_remote
    assert settings.experiment_for("my_flow") == "my_flow"


def test_home_defaults_to_dot_cagents(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = ObserveSettings.from_env(environ={})
    assert settings.tracking_uri == f"sqlite:///{tmp_path}/.cagents/mlflow.db"


def test_tracking_uri_from_the_environment(tmp_path: Path) -> None:
    settings = ObserveSettings.from_env(environ={"CAGENTS_HOME": str(tmp_path),
                                                 "MLFLOW_TRACKING_URI": "http://127.0.0.1:5000"})
    assert settings.tracking_uri == "http://127.0.0.1:5000"
    assert settings.is_remote and not settings.is_local and settings.sqlite_path is None


@pytest.mark.parametrize("value", ["off", "OFF", "false", "0", "no"])
def test_tracing_off_by_environment(value: str) -> None:
    settings = ObserveSettings.from_env(_workflow(), environ={"CAGENTS_TRACING": value})
    assert not settings.enabled
    assert settings.disabled_reason == f"CAGENTS_TRACING={value}"


def test_a_bad_switch_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        ObserveSettings.from_env(environ={"CAGENTS_TRACING": "sometimes"})
    assert "CAGENTS_TRACING" in str(caught.value) and "on` or `off" in str(caught.value)


def test_tracing_off_per_workflow() -> None:
    workflow = _workflow("observability: {mlflow: {enabled: false}}")
    settings = ObserveSettings.from_env(workflow, environ={})
    assert not settings.enabled
    assert settings.disabled_reason == "config.observability.mlflow.enabled: false"
    assert tracer_for(workflow) is None
    assert tracer_for(_workflow()) is not None


def test_workflow_names_experiment_and_store(tmp_path: Path) -> None:
    workflow = _workflow(f"""
        observability:
          mlflow: {{experiment_name: team-exp, tracking_uri: "sqlite:///{tmp_path}/other.db"}}
    """)
    for config in (workflow, workflow.spec, workflow.spec.config):
        settings = ObserveSettings.from_env(config, environ={"MLFLOW_TRACKING_URI": "http://x.invalid"})
        assert settings.experiment_for("settings_wf") == "team-exp"
        assert settings.tracking_uri == f"sqlite:///{tmp_path}/other.db"


@pytest.mark.parametrize("uri", ["file://./mlruns", "sqlite:///mlflow.db", "./mlruns", "file:mlruns"])
def test_relative_stores_of_old_configs_do_not_scatter_traces(uri: str, tmp_path: Path) -> None:
    workflow = _workflow(f'observability: {{mlflow: {{tracking_uri: "{uri}"}}}}')
    settings = ObserveSettings.from_env(workflow, environ={"CAGENTS_HOME": str(tmp_path)})
    assert settings.tracking_uri == f"sqlite:///{tmp_path}/mlflow.db"


def test_importing_observe_does_not_import_mlflow() -> None:
    code = ("import sys, cagents.observe as o; o.ObserveSettings; o.MlflowTracer; o.MlflowServer; "
            "o.trace_url; print('mlflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
