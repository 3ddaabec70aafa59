"""How hosts show times, durations and costs, and read `NAME=VALUE` inputs: one way everywhere.

The CLI, the magics and the progress view print the same `3 min ago`, `1m 05s`, `$0.000120`.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from cagents.errors import CagentsError

__all__ = ["ago", "cost", "duration", "parse_inputs"]


def ago(when: datetime, now: datetime) -> str:
    """`3 min ago`: how long before `now` (both naive UTC)."""
    seconds = max((now - when).total_seconds(), 0.0)
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{int(seconds)} s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)} d ago"
    return when.date().isoformat()


def duration(seconds: float | None) -> str:
    """`0.42s`, `1m 05s`, `2h 03m`; `-` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def cost(value: float | None) -> str:
    """US dollars to the micro-dollar; `-` when unknown."""
    return "-" if value is None else f"${value:.6f}"


def parse_inputs(pairs: list[str], input_file: str | None) -> dict[str, Any]:
    """`--input-file` first, then each `--input NAME=VALUE` (later ones win)."""
    inputs: dict[str, Any] = {}
    if input_file:
        try:
            data = json.loads(Path(input_file).read_text(encoding="utf-8"))
        except OSError as error:
            raise CagentsError(f"cannot read --input-file {input_file}: {error.strerror or error}") from None
        except ValueError as error:
            raise CagentsError(f"--input-file {input_file} is not JSON: {error}") from None
        if not isinstance(data, dict):
            raise CagentsError(f"--input-file {input_file} must hold a JSON object of field: value")
        inputs.update(data)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CagentsError(f"--input expects NAME=VALUE, got {pair!r}")
        inputs[name.strip()] = value
    return inputs
