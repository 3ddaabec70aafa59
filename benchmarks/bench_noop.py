"""The no-I/O node body used by the overhead benchmark (referenced as bench_noop:noop)."""

from __future__ import annotations


async def noop(value: int) -> int:
    """Return the value unchanged."""
    return value
