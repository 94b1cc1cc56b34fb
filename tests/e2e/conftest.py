"""A real `streamlit run` on a free port, and Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from engine.settings import REPO_ROOT
from tests.conftest import free_port

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_dashboard(port: int, log: Path) -> subprocess.Popen:
    """`streamlit run` as ./run.sh does it, in its own process group (so a Ctrl-C to it spares pytest)."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "dashboard/app.py",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
            ],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if requests.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                return
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"streamlit did not start; its log:\n{Path(log).read_text()[-2000:]}")
        time.sleep(0.2)  # probe interval


def stop_dashboard(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def settle(page) -> None:
    """Wait until the page has drawn and Streamlit has finished running its script."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    page.wait_for_selector("h1", timeout=60_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(800)  # let plotly finish its first draw before a screenshot


def main_text(page) -> str:
    return page.inner_text('[data-testid="stMain"]')


def wait_for_text(page, text: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        body = main_text(page)
        if text in body:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} did not appear within {timeout_s:.0f} s; the page says:\n{body[-1500:]}")
        page.wait_for_timeout(500)


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
