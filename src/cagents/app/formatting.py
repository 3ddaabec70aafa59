"""How hosts show times, durations and costs, and read `NAME=VALUE` inputs and env values.

The CLI, the magics and the progress view print the same `3 min ago`, `1m 05s`, `$0.000120`.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from cagents.errors import CagentsError

__all__ = ["ago", "cost", "duration", "parse_env", "parse_env_text", "parse_inputs"]


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


def parse_env(pairs: list[str], env_file: str | None) -> dict[str, str]:
    """`--env-file` lines, then each `--env NAME=VALUE` (later ones win)."""
    env: dict[str, str] = {}
    if env_file:
        try:
            env.update(parse_env_text(Path(env_file).read_text(encoding="utf-8"), env_file))
        except OSError as error:
            raise CagentsError(f"cannot read --env-file {env_file}: {error.strerror or error}") from None
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CagentsError(f"--env expects NAME=VALUE, got {pair.split('=')[0]!r}")
        env[name.strip()] = value
    return env


def parse_env_text(text: str, where: str = ".env") -> dict[str, str]:
    """`NAME=VALUE` lines (`export ` and quotes allowed, `#` comments); values are not echoed."""
    env: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        name, sep, value = line.partition("=")
        if not sep or not name.strip().isidentifier():
            raise CagentsError(f"{where}:{number}: expected NAME=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[name.strip()] = value
    return env
