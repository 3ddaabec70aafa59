"""Whether executions are traced and where the traces go, read once from the env and the workflow.

Precedence: `CAGENTS_TRACING=off` turns tracing off for the process; a workflow's
`config.observability.mlflow.enabled: false` turns it off for that workflow. The tracking URI
is the workflow's `tracking_uri` (when it is absolute or remote), else `MLFLOW_TRACKING_URI`,
else `sqlite:///<CAGENTS_HOME>/mlflow.db`; artifacts of experiments we create in a local store
go to `<CAGENTS_HOME>/mlartifacts`, never to `./mlruns`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cagents.errors import ConfigError, ConfigIssue

__all__ = [
    "ARTIFACTS_DIRNAME",
    "DB_FILENAME",
    "TRACING_ENV",
    "TRACKING_URI_ENV",
    "ObserveSettings",
]

TRACING_ENV = "CAGENTS_TRACING"
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
HOME_ENV = "CAGENTS_HOME"
DB_FILENAME = "mlflow.db"
ARTIFACTS_DIRNAME = "mlartifacts"

_OFF = frozenset({"off", "0", "false", "no", "disabled"})
_ON = frozenset({"on", "1", "true", "yes", "enabled", ""})


@dataclass(frozen=True)
class ObserveSettings:
    """Where one workflow's traces go; `enabled` False means no tracer is attached at all."""

    tracking_uri: str
    home: Path
    enabled: bool = True
    experiment_name: str | None = None
    #: Why tracing is off (the setting that turned it off), for messages and the UI.
    disabled_reason: str | None = None

    @classmethod
    def from_env(cls, config: Any = None, *, environ: Mapping[str, str] | None = None) -> ObserveSettings:
        """Settings from the process environment and, optionally, one workflow.

        `config` may be a `Workflow`, a `WorkflowSpec`, a `WorkflowConfig` or its
        `config.observability.mlflow` section.
        """
        env = os.environ if environ is None else environ
        home = _home(env)
        default_uri = f"sqlite:///{home / DB_FILENAME}"
        uri = env.get(TRACKING_URI_ENV, "").strip() or default_uri
        enabled, reason = True, None
        switch = env.get(TRACING_ENV, "").strip().lower()
        if switch in _OFF:
            enabled, reason = False, f"{TRACING_ENV}={env.get(TRACING_ENV, '').strip()}"
        elif switch not in _ON:
            raise ConfigError(ConfigIssue(
                f"{TRACING_ENV}={env.get(TRACING_ENV)!r} is not a switch",
                file="<environment>", key=TRACING_ENV, hint="set it to `on` or `off`",
            ))
        experiment = None
        section = _mlflow_section(config)
        if section is not None:
            if getattr(section, "enabled", True) is False and enabled:
                enabled, reason = False, "config.observability.mlflow.enabled: false"
            experiment = getattr(section, "experiment_name", None) or None
            named = (getattr(section, "tracking_uri", None) or "").strip()
            # configurable-agents configs often say `file://./mlruns` or `sqlite:///mlflow.db`:
            # a store relative to wherever the process runs would scatter traces where the
            # workbench never looks, so only absolute or remote stores override ours.
            if named and not _is_relative_local(named):
                uri = named
        return cls(tracking_uri=uri, home=home, enabled=enabled, experiment_name=experiment,
                   disabled_reason=reason)

    @property
    def is_remote(self) -> bool:
        """True for an MLflow tracking server reached over HTTP(S)."""
        return self.tracking_uri.lower().startswith(("http://", "https://"))

    @property
    def is_local(self) -> bool:
        """True for a store this process writes itself (SQLite file or file store)."""
        return _scheme(self.tracking_uri) in ("", "file", "sqlite")

    @property
    def artifact_location(self) -> str:
        """Artifact root of experiments created in a local store: `<home>/mlartifacts`."""
        return (self.home / ARTIFACTS_DIRNAME).resolve().as_uri()

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of a `sqlite:///` store, else None."""
        if _scheme(self.tracking_uri) != "sqlite":
            return None
        rest = self.tracking_uri.split(":///", 1)[1] if ":///" in self.tracking_uri else ""
        if not rest or rest.startswith(":memory:"):
            return None
        return Path(rest.split("?", 1)[0])

    def experiment_for(self, workflow_name: str) -> str:
        """The experiment a workflow's traces land in: the config's name, else the workflow's."""
        return self.experiment_name or workflow_name


def _home(env: Mapping[str, str]) -> Path:
    raw = env.get(HOME_ENV, "").strip()
    return (Path(raw).expanduser() if raw else Path.home() / ".cagents").absolute()


def _scheme(uri: str) -> str:
    head, sep, _ = uri.partition(":")
    if not sep or len(head) == 1:  # no scheme, or a Windows drive letter
        return ""
    return head.lower()


def _is_relative_local(uri: str) -> bool:
    scheme = _scheme(uri)
    if scheme == "sqlite":
        rest = uri.split(":///", 1)[1] if ":///" in uri else ""
        return not rest.startswith("/")
    if scheme == "file":
        # `file:///abs` has an empty authority; `file://./x` is relative
        rest = uri[len("file:"):].removeprefix("//")
        return not rest.startswith("/")
    if scheme == "":
        return not Path(uri).expanduser().is_absolute()
    return False


def _mlflow_section(config: Any) -> Any:
    """`config.observability.mlflow` of whatever workflow object the caller has, or None."""
    if config is None:
        return None
    if hasattr(config, "experiment_name") and hasattr(config, "enabled"):
        return config
    spec = getattr(config, "spec", config)  # Workflow -> WorkflowSpec
    workflow_config = getattr(spec, "config", None)  # WorkflowSpec -> WorkflowConfig
    if not hasattr(workflow_config, "settings"):  # it was a WorkflowConfig (its `config` is Settings)
        workflow_config = spec
    settings = getattr(workflow_config, "settings", None)
    observability = getattr(settings, "observability", None)
    return getattr(observability, "mlflow", None)
