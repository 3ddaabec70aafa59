"""Model prices (USD per 1M tokens) and the cost of a call's usage.

The package table is overridden entry by entry by a user file: `$CAGENTS_PRICES_FILE`, else
`$CAGENTS_HOME/prices.json` (home defaults to ~/.cagents) when it exists.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from cagents.errors import LLMError
from cagents.llm.request import Usage

__all__ = ["cost_usd", "load_prices", "user_prices_path"]

PRICES_FILE_ENV = "CAGENTS_PRICES_FILE"
HOME_ENV = "CAGENTS_HOME"

Prices = dict[str, tuple[float, float]]


def _parse(raw: Any, source: str) -> Prices:
    """Accept `{"model": [in, out]}` or `{"model": {"input": x, "output": y}}`; `_keys` are notes."""
    if not isinstance(raw, dict):
        raise LLMError(f"{source}: prices must be a JSON object of model -> [input, output] "
                       f"USD per 1M tokens, got {type(raw).__name__}")
    table: Prices = {}
    for model, entry in raw.items():
        if model.startswith("_"):
            continue
        if isinstance(entry, dict) and set(entry) >= {"input", "output"}:
            pair = [entry["input"], entry["output"]]
        elif isinstance(entry, list):
            pair = entry
        else:
            pair = []
        if (len(pair) != 2 or not all(isinstance(p, (int, float)) and not isinstance(p, bool)
                                       for p in pair) or min(pair) < 0):
            raise LLMError(f"{source}: price of '{model}' must be [input, output] USD per 1M "
                           f"tokens (two non-negative numbers), got {json.dumps(entry)}")
        table[model.lower()] = (float(pair[0]), float(pair[1]))
    return table


@lru_cache(maxsize=1)
def _package_prices() -> Prices:
    text = resources.files("cagents.llm").joinpath("prices.json").read_text(encoding="utf-8")
    return _parse(json.loads(text), "cagents/llm/prices.json")


def user_prices_path() -> Path | None:
    """The user price file that applies, or None when there is none."""
    explicit = os.environ.get(PRICES_FILE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    home = Path(os.environ.get(HOME_ENV) or "~/.cagents").expanduser()
    path = home / "prices.json"
    return path if path.is_file() else None


@lru_cache(maxsize=8)
def _read_user_file(path: str, mtime_ns: int, size: int) -> Prices:
    """Parsed user file; cached on (path, mtime, size) so edits are picked up."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LLMError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} "
                       f"column {exc.colno}); fix or remove the file") from None
    return _parse(raw, path)


def load_prices() -> dict[str, tuple[float, float]]:
    """USD per 1M input / output tokens by model name (lowercase), user entries winning."""
    table = dict(_package_prices())
    path = user_prices_path()
    if path is not None:
        try:
            stat = path.stat()
        except OSError as exc:
            raise LLMError(f"{path}: cannot read the prices file ({exc.strerror}); "
                           f"fix {PRICES_FILE_ENV} or create the file") from None
        table.update(_read_user_file(str(path), stat.st_mtime_ns, stat.st_size))
    return table


def _lookup(model: str, table: Prices) -> tuple[float, float] | None:
    """Exact name first, then the longest known prefix ending at a separator."""
    name = model.strip().lower()
    if name in table:
        return table[name]
    best: str | None = None
    for known in table:
        if (name.startswith(known) and not name[len(known)].isalnum()
                and (best is None or len(known) > len(best))):
            best = known
    return table[best] if best is not None else None


def cost_usd(model: str, usage: Usage) -> float | None:
    """Cost of `usage` on `model` in USD, or None when the model's price is unknown."""
    price = _lookup(model, load_prices())
    if price is None:
        return None
    return (usage.prompt_tokens * price[0] + usage.completion_tokens * price[1]) / 1_000_000
