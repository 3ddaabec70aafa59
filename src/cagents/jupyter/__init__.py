"""The Jupyter server extension of the workbench: enabled by `jupyter_server_config.d/cagents.json`.

Importing this package is cheap; jupyter_server is imported only when the server loads the
extension.
"""

from __future__ import annotations

from typing import Any

__all__ = ["_jupyter_server_extension_points"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """The entry point jupyter_server looks up when `jpserver_extensions` names `cagents.jupyter`."""
    from cagents.jupyter.extension import CagentsExtension

    return [{"module": "cagents.jupyter.extension", "app": CagentsExtension}]
