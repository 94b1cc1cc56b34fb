"""The clinician's path in a real browser: a JPEG and a DICOM are answered, a corrupt file is refused."""

import pytest
from pydicom.data import get_testdata_file

from engine import registry
from tests.images import sample_files


@pytest.fixture(autouse=True)
def needs_a_model(settings):
    if registry.default_model_id(settings) is None:
        pytest.skip("no model in assets/models or the registry")


def upload(page, url, path, artifacts, shot):
    page.goto(f"{url}/classify")
    page.wait_for_selector("h1", timeout=60_000)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    page.wait_for_selector('[data-testid="stAlertContainer"]', timeout=90_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / shot), full_page=True)
    return page.inner_text('[data-testid="stMain"]')


def test_jpeg_gets_an_answer(page, dashboard_url, artifacts):
    text = upload(page, dashboard_url, sample_files("pituitary", 1)[0], artifacts, "classify-jpeg.png")
    assert any(word in text for word in ("Glioma", "Meningioma", "No tumour", "Pituitary", "Not classified"))
    page.wait_for_selector('[data-testid="stDownloadButton"]', timeout=60_000)
    assert "PDF report" in page.inner_text('[data-testid="stDownloadButton"]')
    assert page.locator('[data-testid="stException"]').count() == 0


def test_dicom_gets_an_answer_without_patient_data(page, dashboard_url, artifacts):
    text = upload(page, dashboard_url, get_testdata_file("MR_small.dcm"), artifacts, "classify-dicom.png")
    assert "Modality: MR" in text
    assert "CompressedSamples" not in text  # MR_small.dcm's patient name never reaches the page


def test_corrupt_file_is_refused_in_a_sentence(page, dashboard_url, artifacts, tmp_path):
    bad = tmp_path / "scan.jpg"
    bad.write_bytes(b"<html>this is not an image</html>")
    text = upload(page, dashboard_url, bad, artifacts, "classify-corrupt.png")
    assert "Not classified" in text and "not an image" in text
    assert page.locator('[data-testid="stException"]').count() == 0
