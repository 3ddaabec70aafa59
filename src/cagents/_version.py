"""The package version, kept in one place for hatch and `cagents --version`."""

__version__ = "0.1.0"
