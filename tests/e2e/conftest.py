"""A real `streamlit run` on a free port, and Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from engine.settings import REPO_ROOT
from tests.e2e.browser import (  # noqa: F401 (the tests import them from here)
    CHROMIUM_FLAGS,
    chromium_path,
    free_port,
    launch_dashboard,
    main_text,
    settle,
    stop_dashboard,
    wait_for_text,
    wait_healthy,
)

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def dashboard_url(hdfs_cluster, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    proc = launch_dashboard(port, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
        yield url
    finally:
        stop_dashboard(proc)


@pytest.fixture(scope="session")
def playwright_driver():
    if chromium_path() is None:
        pytest.skip("Debian's chromium is not installed (./run.sh test installs it when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


def launch_browser(playwright_driver):
    return playwright_driver.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS)


@pytest.fixture(scope="session")
def browser(playwright_driver):
    chromium = launch_browser(playwright_driver)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def choose_in_first_selectbox(page, option: str, tries: int = 3) -> None:
    """Pick `option` in the page's first selectbox.

    Typed, so a long list (the dropdown draws only the options in view) cannot hide it; the page is reloaded
    when the cached dataset list (10 s TTL) was read before the option existed.
    """
    for attempt in range(tries):
        page.locator('[data-testid="stSelectbox"]').first.click()
        page.keyboard.type(option)
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=10_000)
            return
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise
            page.keyboard.press("Escape")
            page.reload()
            settle(page)
