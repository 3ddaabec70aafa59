"""`MlflowWidget`: the MLflow UI embedded in a notebook output, or a link to a remote one."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

from cagents.jupyter.widgets._bundles import panel_file

__all__ = ["MlflowWidget"]

MIN_HEIGHT = 200


class MlflowWidget(anywidget.AnyWidget):
    """The MLflow page: the UI the workbench serves under Jupyter's login (started on first
    use), or, when traces go to a remote tracking server, a card with its address and link.
    """

    _esm = panel_file("mlflow.js")
    _css = panel_file("mlflow.css")

    base_url = traitlets.Unicode("", help="The Jupyter server's base URL; empty: the page's.").tag(sync=True)
    height = traitlets.Int(650, help=f"Height of the embedded UI in pixels (at least {MIN_HEIGHT}).").tag(sync=True)

    def __init__(self, height: int = 650, **kwargs: Any) -> None:
        super().__init__(height=height, **kwargs)

    @traitlets.validate("height")
    def _check_height(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value < MIN_HEIGHT:
            raise traitlets.TraitError(f"height must be at least {MIN_HEIGHT} pixels, got {value}")
        return value
