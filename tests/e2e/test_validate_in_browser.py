"""A hospital validates the default model on its own labelled scans from the browser: a zip of class folders in,
figures per class with refused and flagged counts, the scans to review, and the exports out."""

import zipfile

import pytest

from engine.ml import registry
from tests.e2e.conftest import settle, wait_for_text
from tests.images import sample_files


@pytest.fixture(autouse=True)
def needs_a_model(settings):
    if registry.default_model_id(settings) is None:
        pytest.skip("no model in assets/models or the registry")


def test_validate_a_zip_of_class_folders(page, dashboard_url, artifacts, tmp_path, settings):
    scans = tmp_path / "hospital-scans.zip"
    with zipfile.ZipFile(scans, "w") as z:
        for cls in ("glioma", "meningioma", "notumor", "pituitary"):
            for path in sample_files(cls, 4):
                z.write(path, f"{cls}/{path.name}")
    page.set_viewport_size({"width": 1400, "height": 2600})
    page.goto(f"{dashboard_url}/validate")
    settle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(scans))
    page.get_by_role("button", name="Validate on the zip").click()
    body = wait_for_text(page, "Report (PDF)", 180)
    assert "Accuracy of the answers" in body and "Flagged for review" in body
    assert page.locator('[data-testid="stDataFrame"]').count() == 1, "the per-class table"
    # plotly draws after the text arrives, later still on a loaded machine: wait for the second chart
    page.locator(".js-plotly-plot").nth(1).wait_for(state="attached", timeout=60_000)
    assert page.locator(".js-plotly-plot").count() >= 2, "the confusion matrix and the reliability diagram"
    assert "Every scan (CSV)" in body
    assert not list((settings.run_dir / "uploads").glob("*.zip")), "the uploaded zip is deleted once read"
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts / "validate-result.png"), full_page=True)
