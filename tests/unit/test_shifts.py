"""Every shift of `benchmark refusal` yields an upload the clinic can read, still a grey scan of the same
anatomy, and none of them is refused before the model looks (colour, blank, modality)."""

from pathlib import Path

import numpy as np
from PIL import Image

from engine.clinic.classify import screen
from engine.data.scans import read_scan
from engine.data.shifts import SHIFTS, shifted

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample" / "Training"


def test_every_shift_is_a_readable_scan_the_checks_before_the_model_let_through():
    scan = Image.open(next(SAMPLE.glob("glioma/*")))
    uploads = shifted(scan)
    assert [name for name, _ in uploads] == list(SHIFTS)
    for name, data in uploads:
        decoded = read_scan(data)
        assert screen(decoded) is None, name
        assert np.asarray(decoded.image).std() > 10, name
    dicom = read_scan(dict(uploads)["DICOM MR, 12-bit, windowed"])
    assert dicom.kind == "dicom" and dicom.technical.get("Modality") == "MR"


def test_screenshot_shifts_come_after_the_others_and_the_page_and_the_exif_tag_are_undone_before_the_model():
    from engine.data.framing import reframe
    from engine.data.shifts import SCREENSHOT_SHIFTS

    scan = Image.open(next(SAMPLE.glob("meningioma/*"))).convert("L")
    uploads = dict(shifted(scan, screenshots=True))
    assert list(uploads) == [*SHIFTS, *SCREENSHOT_SHIFTS]
    for name in ("on a white page (15% margin)", "on a page with a heading and a caption"):
        framed, cut = reframe(read_scan(uploads[name]).image)
        assert cut and np.array_equal(np.asarray(framed), np.asarray(scan)), name
    upright = np.asarray(read_scan(uploads["JPEG turned upright by its EXIF tag"]).image, dtype=np.float32)
    assert np.abs(upright - np.asarray(scan, dtype=np.float32)).mean() < 3
    assert read_scan(uploads["two slices side by side"]).image.size == (2 * scan.width, scan.height)
