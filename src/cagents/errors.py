"""The error hierarchy of cagents, split by phase and by who is at fault.

Hosts (CLI, REST, magics) translate these once: an exit code, an HTTP status and one
JSON shape, or a message under a notebook cell. Every error carries structured fields
so that a host never has to parse a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "CagentsError",
    "ConfigError",
    "ConfigIssue",
    "ExecutionError",
    "InputError",
    "LLMError",
    "NodeError",
    "CancelledError",
    "ConflictError",
    "DeploymentError",
    "ToolError",
    "StoreError",
    "NotFoundError",
    "RequestError",
]


@dataclass(frozen=True)
class ConfigIssue:
    """One problem found in a workflow file, with where it is and how to fix it."""

    message: str
    file: str = "<config>"
    line: int | None = None
    column: int | None = None
    key: str | None = None
    hint: str | None = None

    def format(self) -> str:
        """`FILE:LINE:COL: message (hint)`, the form editors and CI logs understand."""
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "key": self.key,
            "message": self.message,
            "hint": self.hint,
        }


class CagentsError(Exception):
    """Base of every error cagents raises on purpose."""

    #: HTTP status a REST host answers with.
    http_status: int = 500

    def to_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "message": str(self)}


class ConfigError(CagentsError):
    """A workflow file is not valid; carries every issue found, not just the first."""

    http_status = 400

    def __init__(self, issues: list[ConfigIssue] | ConfigIssue | str, *, file: str = "<config>"):
        if isinstance(issues, str):
            issues = [ConfigIssue(issues, file=file)]
        elif isinstance(issues, ConfigIssue):
            issues = [issues]
        self.issues: list[ConfigIssue] = list(issues)
        super().__init__(self._summary())

    def _summary(self) -> str:
        if len(self.issues) == 1:
            return self.issues[0].format()
        lines = [f"{len(self.issues)} problems:"]
        lines += ["  " + issue.format() for issue in self.issues]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": "ConfigError",
            "message": str(self),
            "issues": [issue.to_dict() for issue in self.issues],
        }


class InputError(CagentsError):
    """Workflow inputs do not match the declared state; lists every bad or missing field."""

    http_status = 422

    def __init__(self, problems: dict[str, str]):
        self.problems = dict(problems)
        detail = "; ".join(f"{name}: {why}" for name, why in self.problems.items())
        super().__init__(f"invalid inputs: {detail}")

    def to_dict(self) -> dict[str, Any]:
        return {"error": "InputError", "message": str(self), "fields": self.problems}


class ExecutionError(CagentsError):
    """A run failed for a reason outside the config text (model, tool, timeout, ...)."""

    http_status = 500


class NodeError(ExecutionError):
    """A node failed; names the node and, where it applies, the field."""

    def __init__(self, node_id: str, message: str, *, field_name: str | None = None):
        self.node_id = node_id
        self.field_name = field_name
        where = f"node '{node_id}'" + (f", field '{field_name}'" if field_name else "")
        super().__init__(f"{where}: {message}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": type(self).__name__,
            "message": str(self),
            "node": self.node_id,
            "field": self.field_name,
        }


class LLMError(ExecutionError):
    """The model provider failed or answered something unusable."""

    def __init__(self, message: str, *, transient: bool = False, status: int | None = None):
        self.transient = transient
        self.status = status
        super().__init__(message)


class ToolError(ExecutionError):
    """A tool refused or failed; `on_error: continue` turns it into a result instead."""

    def __init__(self, tool: str, message: str):
        self.tool = tool
        super().__init__(f"tool '{tool}': {message}")


class CancelledError(ExecutionError):
    """The run was cancelled by its owner; what ran before is kept."""



class ConflictError(ExecutionError):
    """An action the execution's status does not allow (cancel a finished run, resume a
    completed one); says what the status is and what to do instead."""

    http_status = 409


class DeploymentError(CagentsError):
    """A deployment cannot be built, started or reached, or answered with an error."""

    http_status = 502

    def __init__(self, message: str, *, status: int | None = None, detail: Any = None):
        self.upstream_status = status
        self.detail = detail
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        data = {"error": "DeploymentError", "message": str(self)}
        if self.upstream_status is not None:
            data["upstream_status"] = self.upstream_status
        if self.detail is not None:
            data["detail"] = self.detail
        return data


class StoreError(CagentsError):
    """The database refused or cannot be used (locked, newer schema, unreachable)."""

    http_status = 503


class RequestError(CagentsError):
    """A request to a host (REST body, query, magic arguments) is malformed; names the field."""

    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, status: int = 400):
        self.field = field
        self.http_status = status
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        return {"error": "RequestError", "message": str(self), "field": self.field}


class NotFoundError(CagentsError):
    """An id that names nothing: says what kind of thing and which id."""

    http_status = 404

    def __init__(self, kind: str, identifier: str):
        self.kind = kind
        self.identifier = identifier
        super().__init__(f"no {kind} with id '{identifier}'")
