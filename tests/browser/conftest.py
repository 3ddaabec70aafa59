"""A real `jupyter lab` and Debian's Chromium driven by Playwright, for the panels' browser tests.

One JupyterLab per test module, with its own workbench home, settings and root folder; the
built labextension (`src/cagents/labextension`) is put on the server's JUPYTER_PATH, so the
tests use this checkout's build however cagents was installed. A failed test leaves a
screenshot in `tests/browser/artifacts/`. Playwright never downloads a browser here: it drives
`/usr/bin/chromium` (`apt-get install chromium`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser._lab import CHROMIUM, CHROMIUM_ARGS, Lab, missing, start_lab, stop_lab

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
#: How long an `expect(...)` waits for the page to get there. Playwright's 5 s is too short on a
#: loaded 2-core CI machine (JupyterLab, a kernel, the server and Chromium share it); a test
#: that passes waits only as long as the page needs.
EXPECT_TIMEOUT_MS = 20_000


def pytest_configure(config: pytest.Config) -> None:
    try:
        from playwright.sync_api import expect
    except ImportError:  # the `browser` fixture says what is missing
        return
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A real `jupyter lab` with the cagents server extension and this checkout's labextension."""
    running = start_lab(tmp_path_factory.mktemp("lab"))
    try:
        yield running
    finally:
        stop_lab(running)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright (headless)."""
    if not CHROMIUM.is_file():
        missing(f"{CHROMIUM} is missing: `apt-get install -y chromium` (never `playwright install`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test, so `page` knows at teardown whether it failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report



@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser page (its own cookies); a screenshot is saved when the test fails."""
    from playwright.sync_api import Error as PlaywrightError

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    console: list[str] = []
    tab.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    tab.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    try:
        yield tab
    finally:
        reports = request.node.stash.get(_REPORTS, {})
        if any(report.failed for report in reports.values()):
            ARTIFACTS.mkdir(exist_ok=True)
            name = request.node.nodeid.replace("/", "_").replace(":", "_")
            try:
                tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                (ARTIFACTS / f"{name}.console.txt").write_text("\n".join(console))
            except (OSError, PlaywrightError) as error:  # a crashed page must not hide the test's own failure
                print(f"no screenshot: {error}", file=sys.stderr)
        context.close()
