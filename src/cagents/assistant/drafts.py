"""A drafted workflow: its YAML, what the validator says about it, its diagram and schemas.

Every draft, whoever wrote it (a model through the `propose_workflow` tool call, or the
offline drafter), passes through `check_data` / `check_yaml`: only a valid draft is ever
shown as a proposal or made final.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cagents.errors import ConfigError, ConfigIssue

if TYPE_CHECKING:
    from cagents.config.loader import WorkflowSpec

__all__ = ["Draft", "check_data", "check_yaml", "issue_lines", "to_yaml"]

#: Top-level keys in the order people expect to read them.
_ORDER = ("schema_version", "flow", "state", "nodes", "edges", "config", "triggers", "webhook")
_FILENAME = "<draft>"


@dataclass
class Draft:
    """The outcome of checking one drafted workflow."""

    yaml: str
    valid: bool
    issues: list[ConfigIssue] = field(default_factory=list)
    spec: WorkflowSpec | None = None
    mermaid: str | None = None

    @property
    def workflow(self) -> str | None:
        return self.spec.name if self.spec is not None else None

    @property
    def nodes(self) -> list[str]:
        return [node.id for node in self.spec.config.nodes] if self.spec is not None else []

    def to_dict(self, revision: int | None = None) -> dict[str, Any]:
        """The PROPOSAL of the REST contract (docs/rest-api/chat.md)."""
        spec = self.spec
        return {
            "yaml": self.yaml,
            "mermaid": self.mermaid,
            "valid": self.valid,
            "issues": [issue.to_dict() for issue in self.issues],
            "workflow": self.workflow,
            "description": spec.config.flow.description if spec is not None else None,
            "nodes": self.nodes,
            "input_schema": spec.input_schema() if spec is not None else None,
            "revision": revision,
        }


def _multiline_dumper() -> type:
    import yaml

    class Dumper(yaml.SafeDumper):  # type: ignore[misc]
        """Block style for multi-line strings (prompts), so the YAML reads like a hand-written one."""

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        if "\n" in value:
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
        return dumper.represent_scalar("tag:yaml.org,2002:str", value)

    def mapping(dumper: yaml.SafeDumper, value: dict[Any, Any]) -> yaml.MappingNode:
        return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=_short(list(value.values()),
                                                                                            value))

    def sequence(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
        return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=_short(value, value))

    Dumper.add_representer(str, text)
    Dumper.add_representer(dict, mapping)
    Dumper.add_representer(list, sequence)
    return Dumper


def _short(values: list[Any], whole: Any) -> bool:
    """Small collections of one-line scalars read best on one line (`{from: a, to: b}`)."""
    scalar = all(v is None or isinstance(v, (bool, int, float)) or (isinstance(v, str) and "\n" not in v)
                 for v in values)
    return scalar and len(values) <= 6 and len(repr(whole)) <= 72


def to_yaml(data: dict[str, Any]) -> str:
    """Workflow data as YAML, top-level keys in reading order, prompts as blocks."""
    import yaml

    ordered = {key: data[key] for key in _ORDER if key in data}
    ordered.update({key: value for key, value in data.items() if key not in ordered})
    if ordered.get("schema_version") in (1.0, 1, None):
        ordered["schema_version"] = "1.0"
    text: str = yaml.dump(ordered, Dumper=_multiline_dumper(), sort_keys=False, allow_unicode=True,
                          default_flow_style=False, width=100)
    return text


def check_yaml(text: str) -> Draft:
    """Compile `text` with the workflow validator; a refused text is a Draft with issues."""
    from cagents.config._source import load_source
    from cagents.config.diagram import to_mermaid
    from cagents.config.loader import compile_source

    try:
        spec = compile_source(load_source(text, filename=_FILENAME))
    except ConfigError as error:
        return Draft(yaml=text, valid=False, issues=list(error.issues))
    return Draft(yaml=text, valid=True, spec=spec, mermaid=to_mermaid(spec))


def check_data(data: Any) -> Draft:
    """Check workflow data (the arguments of a `propose_workflow` call)."""
    if not isinstance(data, dict):
        issue = ConfigIssue(f"the workflow must be a JSON object, got {type(data).__name__}", file=_FILENAME)
        return Draft(yaml="", valid=False, issues=[issue])
    try:
        text = to_yaml(data)
    except Exception as exc:  # noqa: BLE001  (a value YAML cannot represent)
        issue = ConfigIssue(f"the workflow cannot be written as YAML: {exc}", file=_FILENAME)
        return Draft(yaml="", valid=False, issues=[issue])
    return check_yaml(text)


def issue_lines(issues: list[ConfigIssue], limit: int = 12) -> list[str]:
    """Issues as short lines for a model or a person: key, message, hint."""
    lines = []
    for issue in issues[:limit]:
        where = f"{issue.key}: " if issue.key else (f"line {issue.line}: " if issue.line else "")
        hint = f" (hint: {issue.hint})" if issue.hint else ""
        lines.append(f"{where}{issue.message}{hint}")
    if len(issues) > limit:
        lines.append(f"... and {len(issues) - limit} more")
    return lines
