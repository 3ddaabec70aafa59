"""Where the built panel bundles live in the installed package, and a clear error when absent."""

from __future__ import annotations

from pathlib import Path

from cagents.errors import CagentsError

__all__ = ["PANELS_DIR", "panel_file"]

#: Built by `labextension/` (`jlpm build`), shipped in the wheel next to the labextension.
PANELS_DIR = Path(__file__).resolve().parent.parent.parent / "labextension" / "panels"


def panel_file(name: str) -> Path:
    """The path of a built panel file (`executions.js`, `executions.css`)."""
    path = PANELS_DIR / name
    if not path.is_file():
        raise CagentsError(
            f"the cagents panel bundle {name} is missing from {PANELS_DIR}: this checkout was "
            "installed without building the front end. Build it with `cd labextension && jlpm "
            "install && jlpm build` (Node.js needed), or install cagents from a wheel."
        )
    return path
