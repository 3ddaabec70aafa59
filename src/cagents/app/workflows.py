"""Check and draw a workflow text: what the CLI's `validate`, the REST API and the chat show.

A report is plain JSON: validity, every issue with its line and column, the environment
variables the workflow reads (and whether each is set here, never its value), the input
and output JSON Schemas of a valid workflow.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cagents.errors import ConfigError, RequestError

if TYPE_CHECKING:
    from cagents.config.loader import WorkflowSpec
    from cagents.config.validate import EnvRequirement

__all__ = ["DIAGRAM_FORMATS", "check_text", "compile_text", "diagram", "env_entry", "spec_report"]

DIAGRAM_FORMATS = ("mermaid", "svg", "dot")


def env_entry(requirement: EnvRequirement, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A requirement with `set`: whether one of its variables has a value in `environ`."""
    env = os.environ if environ is None else environ
    return {**requirement.to_dict(), "set": any(env.get(name) for name in requirement.names)}


def spec_report(spec: WorkflowSpec) -> dict[str, Any]:
    """The report of a valid workflow."""
    return {
        "valid": True,
        "workflow": spec.name,
        "description": spec.config.flow.description,
        "nodes": len(spec.config.nodes),
        "issues": [],
        "env": [env_entry(requirement) for requirement in spec.env],
        "input_schema": spec.input_schema(),
        "output_schema": spec.output_schema(),
        "config_hash": spec.config_hash,
    }


def compile_text(text: str | bytes, filename: str = "<workflow>") -> WorkflowSpec:
    """Compile workflow text (a request body, a notebook cell); ConfigError when invalid.

    Text is never taken for a file name: a one-line body `x.yaml` must not make a server
    read its own files (`load_config` would). Blocking: hosts call it off their event loop.
    """
    from cagents.config._source import load_source
    from cagents.config.loader import compile_source

    return compile_source(load_source(text, filename=filename))


def check_text(text: str, filename: str = "<workflow>") -> dict[str, Any]:
    """Validate YAML/JSON text; invalid text is a report with `valid: false`, not an error."""
    try:
        spec = compile_text(text, filename)
    except ConfigError as error:
        return {"valid": False, "workflow": None, "description": None, "nodes": None,
                "issues": [issue.to_dict() for issue in error.issues], "env": [],
                "input_schema": None, "output_schema": None, "config_hash": None}
    return spec_report(spec)


def diagram(text: str, fmt: str = "mermaid", *, direction: str = "TD", filename: str = "<workflow>") -> str:
    """The state-machine diagram of a workflow text; an invalid workflow raises ConfigError."""
    from cagents.config import diagram as diagrams

    if fmt not in DIAGRAM_FORMATS:
        raise RequestError(f"diagram format {fmt!r} is not known; use one of {', '.join(DIAGRAM_FORMATS)}",
                           field="format", status=422)
    if direction not in ("TD", "LR"):
        raise RequestError(f"diagram direction {direction!r} is not known; use TD or LR",
                           field="direction", status=422)
    spec = compile_text(text, filename)
    if fmt == "mermaid":
        return diagrams.to_mermaid(spec, direction=direction)
    if fmt == "dot":
        return diagrams.to_dot(spec, direction=direction)
    return diagrams.to_svg(spec, direction=direction)
