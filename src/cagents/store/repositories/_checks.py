"""Argument checks shared by the repositories, so every backend rejects the same input.

SQLite would store a 500-character id that PostgreSQL refuses; checking here gives one
behaviour and a message that names the argument.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cagents.errors import StoreError

__all__ = ["check_choice", "check_int", "check_text"]


def check_text(what: str, value: Any, max_len: int, *, optional: bool = False) -> None:
    """A non-empty string of at most `max_len` characters (or None when optional)."""
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        raise StoreError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > max_len:
        raise StoreError(f"{what} is {len(value)} characters long; at most {max_len} fit")


def check_choice(what: str, value: Any, choices: Iterable[str]) -> None:
    """One of `choices`; the message lists them."""
    allowed = tuple(choices)
    if value not in allowed:
        raise StoreError(f"unknown {what} {value!r}; use one of: {', '.join(allowed)}")


def check_int(what: str, value: Any, low: int, high: int | None = None) -> None:
    """An int in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise StoreError(f"{what} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise StoreError(f"{what} must be {bound}, got {value}")
