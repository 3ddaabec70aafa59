"""The workflow language: models, safe loading with positions, validation, schema, diagrams."""

from __future__ import annotations

from cagents.config.loader import WorkflowSpec, compile_source, load_config
from cagents.config.models import END, START, WorkflowConfig
from cagents.config.schema import workflow_json_schema
from cagents.config.types import TypeSpec, parse_type
from cagents.config.validate import EnvRequirement

__all__ = [
    "END",
    "START",
    "EnvRequirement",
    "TypeSpec",
    "WorkflowConfig",
    "WorkflowSpec",
    "compile_source",
    "load_config",
    "parse_type",
    "workflow_json_schema",
]
