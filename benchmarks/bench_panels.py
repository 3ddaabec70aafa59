"""The Executions panel's first paint in a real browser, with many executions in the database.

A workbench home is filled with N executions (bulk insert, realistic mix, as bench_store does),
a real `jupyter lab` serves it, and Debian's Chromium (Playwright) opens JupyterLab fresh
several times; each time the panel's own time from render() to its first rows on screen is
read from performance marks. Target: <= 1 s with 100,000 executions (reported, not asserted).

Needs the built labextension (`cd labextension && jlpm build`) and /usr/bin/chromium.
Run: python benchmarks/bench_panels.py [--rows N] [--runs K]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from _util import table
from bench_store import generate
from browser._lab import CHROMIUM, CHROMIUM_ARGS, first_paint, start_lab, stop_lab

from cagents.store.home import DB_FILENAME


def fill_home(home: Path, rows: int) -> float:
    """A workbench home whose database holds `rows` executions; the seconds the load took."""
    home.mkdir(parents=True, exist_ok=True)
    return generate(home / DB_FILENAME, rows, datetime.now(timezone.utc).replace(tzinfo=None))


def measure(base: Path, rows: int, runs: int) -> list[dict[str, Any]]:
    """`runs` fresh page loads against a lab over `rows` executions; one timing dict each."""
    from playwright.sync_api import sync_playwright

    home = base / "home"
    fill_home(home, rows)
    lab = start_lab(base, home=home)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            try:
                samples = []
                for _ in range(runs):
                    context = browser.new_context(viewport={"width": 1400, "height": 900})
                    samples.append(first_paint(context.new_page(), lab))
                    context.close()
                return samples
            finally:
                browser.close()
    finally:
        stop_lab(lab)


def report(rows: int, samples: list[dict[str, Any]]) -> str:
    def api_ms(sample: dict[str, Any], summary: bool) -> float:
        calls = [c["ms"] for c in sample["api"] if ("/summary?" in c["url"]) == summary]
        return calls[0] if calls else float("nan")

    lines = []
    for name, values in (
        ("panel render -> first rows painted", [s["panel_ms"] for s in samples]),
        ("page navigation -> first rows painted", [s["since_navigation_ms"] for s in samples]),
        ("GET executions?limit=50 (browser)", [api_ms(s, False) for s in samples]),
        ("GET executions/summary (browser)", [api_ms(s, True) for s in samples]),
    ):
        lines.append((name, f"{statistics.median(values):.0f}", f"{max(values):.0f}", f"{min(values):.0f}"))
    head = f"Executions panel first paint, {rows:,} executions, {len(samples)} fresh page loads (ms; target <= 1000)"
    return head + "\n" + table(lines, ("what", "median", "max", "min"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cagents-bench-panels-") as tmp:
        print(report(args.rows, measure(Path(tmp), args.rows, args.runs)))


if __name__ == "__main__":
    main()
