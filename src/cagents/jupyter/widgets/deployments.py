"""`DeploymentsWidget`: the Deployments panel (health, register, execute, schema) in a notebook output."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

from cagents.jupyter.widgets._bundles import panel_file

__all__ = ["DeploymentsWidget"]


class DeploymentsWidget(anywidget.AnyWidget):
    """The registered deployments with their health, and Register / Execute / Schema / Docs /
    Deregister / Cleanup, as the sidebar's Deployments page.

    The panel reads `{base_url}cagents/api/` from the browser (the page's own server when
    `base_url` is empty); API keys typed into its Execute form go to the service with that
    request and never through the kernel.
    """

    _esm = panel_file("deployments.js")
    _css = panel_file("deployments.css")

    base_url = traitlets.Unicode("", help="The Jupyter server's base URL; empty: the page's.").tag(sync=True)
    deployment_id = traitlets.Unicode("", help="A deployment to point out (scrolled to, highlighted).").tag(sync=True)

    def __init__(self, deployment_id: str = "", **kwargs: Any) -> None:
        super().__init__(deployment_id=deployment_id, **kwargs)
