"""The clinician's path in a real browser: a JPEG and a DICOM are answered, a zoomed-out or much darker screenshot
is flagged, a scan on a report page is cut out and answered, a corrupt file is refused."""

import hashlib
import shutil

import pytest
from PIL import Image, ImageOps
from pydicom.data import get_testdata_file

from engine.clinic import classification_log
from engine.data.shifts import _gamma
from engine.ml import registry
from tests.e2e.conftest import wait_for_text
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
    if "Not classified" not in text:  # an answer comes with its report; a refusal has none
        page.wait_for_selector('[data-testid="stDownloadButton"]', timeout=60_000)
        assert "PDF report" in page.inner_text('[data-testid="stDownloadButton"]')
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_screenshot_letterboxed_in_a_wide_viewer_is_answered_on_its_square(page, dashboard_url, artifacts, tmp_path):
    scan = Image.open(sample_files("glioma", 1)[0]).convert("L")
    viewer = Image.new("L", (scan.height * 16 // 9, scan.height))
    viewer.paste(scan, ((viewer.width - scan.width) // 2, 0))
    shot = tmp_path / "viewer-screenshot.png"
    viewer.save(shot)
    text = upload(page, dashboard_url, shot, artifacts, "classify-letterboxed.png")
    assert "a wide black viewer" in text and "it was cut out as shown" in text
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_zoomed_out_screenshot_is_answered_with_a_review_flag_about_its_framing(page, dashboard_url, artifacts, tmp_path):
    scan = Image.open(sample_files("notumor", 1)[0]).convert("L")
    padded = tmp_path / "zoomed-out.png"
    ImageOps.expand(scan, border=(scan.width // 4, scan.height // 4), fill=0).save(padded)  # 25% black padding
    text = upload(page, dashboard_url, padded, artifacts, "classify-zoomed-out.png")
    assert "the head fills less of the image than in almost every training scan" in text
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_screenshot_much_darker_than_the_export_is_answered_with_a_review_flag_about_its_brightness(page, dashboard_url, artifacts, tmp_path):
    scan = Image.open(sample_files("glioma", 1)[0]).convert("L")
    darker = tmp_path / "darker.png"
    _gamma(scan, 2.0).save(darker)  # a darker window or gamma
    text = upload(page, dashboard_url, darker, artifacts, "classify-darker.png")
    assert "the head is darker than in 98% of the scans the model was trained on" in text
    assert "the model read it as it is and brightened" in text
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_scan_on_a_page_with_a_caption_is_cut_out_and_answered(page, dashboard_url, artifacts, tmp_path):
    from engine.data.shifts import _on_page

    scan = Image.open(sample_files("pituitary", 1)[0]).convert("L")
    screenshot = tmp_path / "report-page.png"
    _on_page(scan).save(screenshot)  # a screenshot of a report: white page, heading, caption
    text = upload(page, dashboard_url, screenshot, artifacts, "classify-on-a-page.png")
    assert "a light page or background" in text and "it was cut out as shown" in text
    assert "Pituitary —" in text and "Not classified" not in text  # the answer itself, not a chart label
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


def test_same_named_uploads_each_show_their_own_answer_once(page, dashboard_url, artifacts, tmp_path, settings):
    import pydicom

    files = []
    for i, src in enumerate([sample_files("glioma", 1)[0], sample_files("pituitary", 1)[0]]):
        (tmp_path / str(i)).mkdir()
        files.append(tmp_path / str(i) / "IM-0001.jpg")  # DICOM exports often share one name
        shutil.copy(src, files[-1])
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    ds.Modality = "[MR](evil)"  # untrusted text with Markdown in it
    files.append(tmp_path / "IM-0001.dcm")
    ds.save_as(files[-1])
    colour = tmp_path / "IM-0001.png"
    Image.new("RGB", (256, 256), (200, 30, 30)).save(colour)  # refused: a colour image
    files.append(colour)
    logged = len(classification_log.read(settings))
    page.goto(f"{dashboard_url}/classify")
    page.wait_for_selector("h1", timeout=60_000)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([str(f) for f in files])
    page.wait_for_selector('[data-testid="stSelectbox"]', timeout=120_000)
    for i, expected in ((1, files[1]), (3, files[3])):
        page.locator('[data-testid="stSelectbox"]').click()
        page.get_by_role("option", name=f"#{i + 1} {expected.name}").click()
        text = wait_for_text(page, hashlib.sha256(expected.read_bytes()).hexdigest(), 30)  # #i's details are its own
    # #4, the colour image, is refused: no heat map, no report
    assert "Not classified" in text and "colour image" in text
    assert "Heat map" not in text and page.locator('[data-testid="stDownloadButton"]', has_text="PDF report").count() == 0
    page.screenshot(path=str(artifacts / "classify-same-names.png"), full_page=True)
    page.locator('[data-testid="stSelectbox"]').click()
    page.get_by_role("option", name="#3 IM-0001.dcm").click()
    text = wait_for_text(page, hashlib.sha256(files[2].read_bytes()).hexdigest(), 30)
    assert "[MR](evil)" in text and page.locator('a[href*="evil"]').count() == 0, "untrusted text shows as written"
    assert len(classification_log.read(settings)) - logged == 4, "each upload is logged exactly once, reruns included"
    assert page.locator('[data-testid="stException"]').count() == 0
