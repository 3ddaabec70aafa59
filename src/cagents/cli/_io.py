"""What several commands share: loading a workflow file (or stdin) and writing an output."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cagents.errors import CagentsError

if TYPE_CHECKING:
    from cagents.config.loader import WorkflowSpec

__all__ = ["STDIN", "load_spec", "write_output"]

#: The file argument that means "read the workflow from standard input".
STDIN = "-"


def load_spec(file: str) -> WorkflowSpec:
    """Compile a workflow file; `-` reads stdin. Raises `ConfigError` naming the file."""
    from cagents.config.loader import compile_source, load_config

    if file == STDIN:
        from cagents.config._source import load_source

        # Straight to the text loader: load_config would take one-line text for a path.
        return compile_source(load_source(sys.stdin.read(), filename="<stdin>"))
    return load_config(Path(file))


def write_output(text: str, out: str | None) -> None:
    """Write to stdout, or to the file `out` (`-` is stdout); a failed write is a CagentsError."""
    if out is None or out == STDIN:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as error:
        reason = error.strerror or str(error)
        raise CagentsError(
            f"cannot write {out}: {reason} (check the folder exists and is writable)"
        ) from None
    print(f"wrote {os.fspath(out)}", file=sys.stderr)
