"""`ChatWidget`: the chat with the workflow assistant in a notebook output."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

from cagents.jupyter.widgets._bundles import panel_file

__all__ = ["ChatWidget"]


class ChatWidget(anywidget.AnyWidget):
    """The conversation that drafts a workflow (diagram and YAML), then executes, deploys or
    inserts it as a `%%cagents` cell below this one.

    The panel talks to `{base_url}cagents/api/chat/...` from the browser: API keys typed
    into its env area go to the server with that request and never through the kernel.
    `session_id` follows the conversation shown (the most recent one, or a new one, when
    empty); set it to open another.
    """

    _esm = panel_file("chat.js")
    _css = panel_file("chat.css")

    base_url = traitlets.Unicode("", help="The Jupyter server's base URL; empty: the page's.").tag(sync=True)
    session_id = traitlets.Unicode("", help="The conversation shown; empty: the most recent (or a new one).").tag(sync=True)

    def __init__(self, session_id: str = "", **kwargs: Any) -> None:
        super().__init__(session_id=session_id, **kwargs)
