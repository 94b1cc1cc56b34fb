"""Every page loads in a real browser without an error element; a screenshot of each is saved."""

import pytest

from tests.e2e.conftest import main_text, settle

PAGES = {
    "overview": "",
    "hdfs": "hdfs",
    "dataset": "dataset",
    "preprocess": "preprocess",
    "train": "train",
    "speedup": "speedup",
    "classify": "classify",
    "models": "models",
    "validate": "validate",
}


@pytest.mark.parametrize("name", list(PAGES))
def test_page_loads_without_errors(page, dashboard_url, artifacts, name):
    page.goto(f"{dashboard_url}/{PAGES[name]}")
    settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    assert "Healthy" in page.inner_text('[data-testid="stSidebar"]') or "healthy" in page.inner_text('[data-testid="stSidebar"]')
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def test_speedup_page_teaches_on_first_open(page, dashboard_url, artifacts):
    """A fresh install: the shipped reference measurements are drawn and marked as the project's, not the user's."""
    page.set_viewport_size({"width": 1400, "height": 4000})  # every chart on screen: none waits to scroll into view
    page.goto(f"{dashboard_url}/speedup")
    settle(page)
    text = main_text(page)
    assert "reference" in text.lower() and "No measurement yet" not in text
    # plotly's bundle loads on first use: under load the charts draw a few seconds after the script has finished
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 5", timeout=60_000)
    page.screenshot(path=str(artifacts / "speedup-first-open.png"), full_page=True)
