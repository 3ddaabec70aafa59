"""`ExecutionsWidget`: the Executions panel (list, or one execution's detail) in a notebook output."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

from cagents.jupyter.widgets._bundles import panel_file

__all__ = ["ExecutionsWidget"]

_FILTERS = ("status", "workflow", "q", "since", "until", "range")
_RANGES = ("all", "today", "week", "custom")
MAX_PAGE_SIZE = 500


class ExecutionsWidget(anywidget.AnyWidget):
    """Every execution with filters, summary and paging; with `execution_id`, that one's detail.

    The panel reads `{base_url}cagents/api/` from the browser (the page's own server when
    `base_url` is empty), so it keeps working across kernel restarts; clicking View in the
    panel sets `execution_id` here too.
    """

    _esm = panel_file("executions.js")
    _css = panel_file("executions.css")

    base_url = traitlets.Unicode("", help="The Jupyter server's base URL; empty: the page's.").tag(sync=True)
    execution_id = traitlets.Unicode("", help="Show this execution's detail; empty: the list.").tag(sync=True)
    page_size = traitlets.Int(50, help=f"Rows per page (1-{MAX_PAGE_SIZE}).").tag(sync=True)
    filters = traitlets.Dict(
        help="List filters: status (comma-separated), workflow, q (text), range (all|today|week|custom), "
        "since/until (YYYY-MM-DD, with range=custom)."
    ).tag(sync=True)

    def __init__(self, execution_id: str = "", **kwargs: Any) -> None:
        super().__init__(execution_id=execution_id, **kwargs)

    @traitlets.validate("page_size")
    def _check_page_size(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if not 1 <= value <= MAX_PAGE_SIZE:
            raise traitlets.TraitError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {value}")
        return value

    @traitlets.validate("filters")
    def _check_filters(self, proposal: dict[str, Any]) -> dict[str, Any]:
        value: dict[str, Any] = dict(proposal["value"])
        unknown = sorted(set(value) - set(_FILTERS))
        if unknown:
            raise traitlets.TraitError(
                f"unknown filter {unknown[0]!r}; known filters: {', '.join(_FILTERS)}"
            )
        for key, item in value.items():
            if not isinstance(item, str):
                raise traitlets.TraitError(f"filter {key!r} must be a string, got {type(item).__name__}")
        if value.get("range", "all") not in _RANGES:
            raise traitlets.TraitError(f"filter 'range' must be one of {', '.join(_RANGES)}, got {value['range']!r}")
        if ("since" in value or "until" in value) and "range" not in value:
            value["range"] = "custom"
        return value

    def show(self, execution_id: str = "") -> None:
        """Switch the panel to one execution's detail, or back to the list with no id."""
        self.execution_id = execution_id
