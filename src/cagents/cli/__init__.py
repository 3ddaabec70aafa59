"""The `cagents` command line: one small module per command, dispatched by `_app`."""

from __future__ import annotations

from cagents.cli._app import main

__all__ = ["main"]
