"""cagents: a Jupyter-native workbench for LLM agent workflows written in YAML.

`import cagents` is cheap: names below load their modules on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cagents._version import __version__

if TYPE_CHECKING:
    from cagents.engine import RunHandle, RunResult, Workflow, load
    from cagents.errors import CagentsError, ConfigError, ExecutionError, InputError

__all__ = [
    "CagentsError",
    "ConfigError",
    "ExecutionError",
    "InputError",
    "RunHandle",
    "RunResult",
    "Workflow",
    "__version__",
    "load",
]

_LAZY = {
    "load": "cagents.engine",
    "Workflow": "cagents.engine",
    "RunHandle": "cagents.engine",
    "RunResult": "cagents.engine",
    "CagentsError": "cagents.errors",
    "ConfigError": "cagents.errors",
    "ExecutionError": "cagents.errors",
    "InputError": "cagents.errors",
}


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext cagents`: the `%cagents` / `%%cagents` magics (see docs/magics.md)."""
    from cagents.jupyter.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """`%unload_ext cagents`: close the kernel's workbench."""
    from cagents.jupyter.magics import unload_ipython_extension as unload

    unload(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the built sidebar (`jupyter labextension develop .`, `list`)."""
    return [{"src": "labextension", "dest": "cagents"}]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cagents' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

