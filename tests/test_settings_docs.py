"""Every environment variable the code reads is documented in docs/settings.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented() -> None:
    names: set[str] = set()
    for path in (ROOT / "src" / "cagents").rglob("*.py"):
        names |= set(re.findall(r"[\"'](CAGENTS_[A-Z_]+|MLFLOW_TRACKING_URI)[\"']", path.read_text("utf-8")))
    documented = (ROOT / "docs" / "settings.md").read_text("utf-8")
    missing = sorted(name for name in names if f"`{name}`" not in documented)
    assert names, "no settings found: the pattern is wrong"
    assert not missing, f"add these to docs/settings.md: {missing}"
