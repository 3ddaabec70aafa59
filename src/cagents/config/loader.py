"""Compile a workflow: text or file -> source with positions -> models -> whole-workflow checks.

The result, a `WorkflowSpec`, is immutable and carries everything later phases need
(parsed state types, the graph, keys required), so a run never discovers a typo.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from cagents.config._source import Source, load_file, load_source
from cagents.config.graph import Graph
from cagents.config.models import WorkflowConfig
from cagents.config.types import TypeSpec
from cagents.config.validate import EnvRequirement, check_workflow
from cagents.errors import ConfigError, ConfigIssue

__all__ = ["WorkflowSpec", "load_config", "compile_source"]


@dataclass(frozen=True)
class WorkflowSpec:
    """A validated workflow and what validation learned about it."""

    config: WorkflowConfig
    source: Source
    state_types: dict[str, TypeSpec]
    output_types: dict[str, dict[str, TypeSpec]]
    graph: Graph
    env: tuple[EnvRequirement, ...]

    @property
    def name(self) -> str:
        return self.config.flow.name

    @property
    def text(self) -> str:
        """The config as written; this is what executions keep as their snapshot."""
        return self.source.text

    @cached_property
    def config_hash(self) -> str:
        canonical = json.dumps(self.source.data, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def input_schema(self) -> dict[str, Any]:
        """JSON Schema of the inputs a run accepts (every state field; required ones marked)."""
        fields = self.config.state.fields
        return {
            "type": "object",
            "properties": {
                name: self.state_types[name].json_schema(fields[name].description)
                for name in fields
            },
            "required": [name for name, spec in fields.items() if spec.required],
            "additionalProperties": False,
        }

    def output_schema(self) -> dict[str, Any]:
        """JSON Schema of the final state."""
        return {
            "type": "object",
            "properties": {
                name: spec.json_schema(self.config.state.fields[name].description)
                for name, spec in self.state_types.items()
            },
        }


def _looks_like_path(value: str | os.PathLike[str]) -> bool:
    if isinstance(value, os.PathLike):
        return True
    return "\n" not in value and len(value) < 4096 and value.strip().endswith((".yaml", ".yml", ".json"))


def load_config(
    value: str | os.PathLike[str],
    *,
    filename: str | None = None,
    extra_tools: Iterable[str] = (),
) -> WorkflowSpec:
    """Load and validate a workflow from a path or from YAML/JSON text.

    Raises `ConfigError` listing every problem, each with file, line, column and hint.
    """
    if _looks_like_path(value):
        source = load_file(Path(value))
    else:
        source = load_source(str(value), filename=filename or "<config>")
    return compile_source(source, extra_tools=extra_tools)


def compile_source(source: Source, *, extra_tools: Iterable[str] = ()) -> WorkflowSpec:
    from pydantic import ValidationError

    from cagents.config._pydantic_errors import issues_from_validation_error

    data = source.data
    if not isinstance(data, dict):
        raise ConfigError(
            ConfigIssue(
                "a workflow file must be a mapping at the top level",
                file=source.filename, line=1, column=1,
                hint="start with schema_version: \"1.0\"",
            )
        )
    try:
        config = WorkflowConfig.model_validate(data)
    except ValidationError as error:
        issues = issues_from_validation_error(error, data, source, WorkflowConfig)
        raise ConfigError(sorted(issues, key=lambda i: (i.line or 0, i.column or 0))) from None
    checked, issues = check_workflow(config, source, extra_tools=extra_tools)
    if issues or checked is None:
        raise ConfigError(issues or [ConfigIssue("invalid workflow", file=source.filename)])
    return WorkflowSpec(
        config=config,
        source=source,
        state_types=checked.state_types,
        output_types=checked.output_types,
        graph=checked.graph,
        env=checked.env,
    )
