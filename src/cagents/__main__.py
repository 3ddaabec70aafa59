"""`python -m cagents`: the same command line as the `cagents` script."""

from __future__ import annotations

from cagents.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
