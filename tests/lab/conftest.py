"""The browser for tests/lab: pytest-playwright's fixtures (page, context, expect) driving Debian's
chromium, on the session's test stack.

Playwright's own browser download cannot work on these machines, so the launch names the system
executable. And the browser lives for one test module, not the session (pytest-playwright's
default): Playwright's sync API keeps its asyncio loop marked as running for as long as it is
open, and every later test that calls asyncio.run(), or is async, would fail with "cannot be
called from a running event loop". Closed after the module, it leaves the rest of `make test` alone.
"""

import pytest
from playwright.sync_api import Browser, BrowserType, Playwright, sync_playwright

CHROMIUM = "/usr/bin/chromium"
# No sandbox (root in a VM), no GPU, and none of chromium's own traffic (updates, sync, QUIC probes).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(stack) -> dict:
    return {"base_url": stack.nginx, "viewport": DESKTOP}


@pytest.fixture(scope="module")
def playwright() -> Playwright:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    return getattr(playwright, browser_name)


@pytest.fixture(scope="module")
def browser(browser_type: BrowserType, browser_type_launch_args: dict) -> Browser:
    browser = browser_type.launch(**browser_type_launch_args)
    yield browser
    browser.close()
