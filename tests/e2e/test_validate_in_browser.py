"""A hospital validates the default model on its own labelled scans from the browser: a zip of class folders in,
figures per class with refused and flagged counts, the scans to review, and the exports out."""

import pytest

from engine.ml import registry
from tests.e2e.browser import validate_sample_zip


@pytest.fixture(autouse=True)
def needs_a_model(settings):
    if registry.default_model_id(settings) is None:
        pytest.skip("no model in assets/models or the registry")


def test_validate_a_zip_of_class_folders(page, dashboard_url, artifacts, tmp_path, settings):
    page.set_viewport_size({"width": 1400, "height": 2600})
    body = validate_sample_zip(page, dashboard_url, tmp_path, 4, 180)
    assert "Accuracy of the answers" in body and "Flagged for review" in body
    # the table and plotly draw after the text arrives, later still on a loaded machine: wait for them first
    page.locator('[data-testid="stDataFrame"]').first.wait_for(state="attached", timeout=60_000)
    assert page.locator('[data-testid="stDataFrame"]').count() == 1, "the per-class table"
    page.locator(".js-plotly-plot").nth(1).wait_for(state="attached", timeout=60_000)
    assert page.locator(".js-plotly-plot").count() >= 2, "the confusion matrix and the reliability diagram"
    assert "Every scan (CSV)" in body
    assert not list((settings.run_dir / "uploads").glob("*.zip")), "the uploaded zip is deleted once read"
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts / "validate-result.png"), full_page=True)
