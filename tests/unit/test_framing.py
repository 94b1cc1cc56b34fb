"""Re-framing touches only uploads framed unlike every training scan: a slice shown small in a black viewport is
cut back to a training-like square, a scan framed like the training scans is returned as it is."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from engine.data.framing import SPAN_BELOW, TARGET_SPAN, content_box, reframe

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample" / "Training"
SCANS = sorted(SAMPLE.glob("*/*"))

pytestmark = pytest.mark.unit


def _span(img: Image.Image) -> float:
    left, top, right, bottom = content_box(img)
    return max((right - left) / img.width, (bottom - top) / img.height)


@pytest.mark.parametrize("path", SCANS, ids=lambda p: p.name)
def test_shipped_sample_scans_are_left_as_they_are(path):
    scan = Image.open(path).convert("L")
    out, cut = reframe(scan)
    assert not cut and out is scan
    # the same scan 25% padded on every side is re-framed to about the median training span
    padded = ImageOps.expand(scan, border=(scan.width // 4, scan.height // 4), fill=0)
    if _span(padded) < SPAN_BELOW:
        out, cut = reframe(padded)
        assert cut and out.width == out.height
        assert abs(_span(out) - TARGET_SPAN) < 0.03


def test_a_square_scan_letterboxed_in_a_wide_viewport_is_cut_back_to_a_square_holding_all_of_it():
    scan = Image.open(SCANS[0]).convert("L").resize((300, 300))
    viewer = Image.new("L", (640, 360))
    viewer.paste(scan, (170, 30))
    out, cut = reframe(viewer)
    assert cut and out.size == (360, 360)
    assert np.asarray(out, dtype=np.int64).sum() == np.asarray(scan, dtype=np.int64).sum()


def test_a_stretched_scan_whose_content_is_wider_than_its_height_is_left_as_it_is():
    checked = 0
    for path in SCANS:
        scan = Image.open(path).convert("L")
        stretched = scan.resize((scan.width * 4 // 3, scan.height))
        left, _, right, _ = content_box(stretched)
        if right - left > stretched.height:  # cannot be a square scan in a wider viewport
            checked += 1
            out, cut = reframe(stretched)
            assert not cut and out is stretched, path.name
    assert checked > 10


def test_a_dark_image_and_a_small_bright_dot_are_handled():
    black = Image.new("L", (200, 200))
    assert reframe(black) == (black, False)
    dot = Image.new("L", (400, 400))
    dot.paste(255, (195, 195, 205, 205))
    out, cut = reframe(dot)  # cut to its tiny content: the checks after it judge what is left
    assert cut and out.width == out.height and out.width < 20


@pytest.mark.parametrize("path", SCANS, ids=lambda p: p.name)
def test_the_content_span_of_a_prepared_scan_falls_when_it_is_padded(path):
    from engine.data.framing import SMALL_FRAME_BELOW, content_span
    from engine.data.pixels import prepare_pil

    scan = Image.open(path).convert("L")
    padded = ImageOps.expand(scan, border=(scan.width // 4, scan.height // 4), fill=0)  # zoomed out by a third
    as_is, small = content_span(prepare_pil(scan, 128)), content_span(prepare_pil(padded, 128))
    assert small == pytest.approx(as_is / 1.5, abs=0.03)
    assert small < SMALL_FRAME_BELOW  # every sample scan, padded so, is flagged
    assert content_span(np.zeros((128, 128, 1), dtype=np.uint8)) is None


@pytest.mark.parametrize("border, fill", [(0.03, 255), (0.15, 255), (0.5, 255), (0.15, 200)])
def test_a_scan_on_a_light_page_is_cut_out_exactly(border, fill):
    scan = Image.open(SCANS[3]).convert("L")
    on_page = ImageOps.expand(scan, border=int(scan.width * border), fill=fill)
    out, cut = reframe(on_page)
    assert cut and out.size == scan.size
    assert np.array_equal(np.asarray(out), np.asarray(scan))


@pytest.mark.parametrize("fill", [40, 50, 64])
def test_a_scan_in_a_dark_grey_viewer_is_cut_out_exactly(fill):
    scan = Image.open(SCANS[3]).convert("L")
    out, cut = reframe(ImageOps.expand(scan, border=scan.width * 3 // 20, fill=fill))
    assert cut and np.array_equal(np.asarray(out), np.asarray(scan))


def test_a_scans_own_noisy_grey_background_is_not_taken_for_a_viewer():
    # as the two training scans with a grey background above 38 have it: a level of 48, noise of a few grey levels
    scan = Image.open(SCANS[3]).convert("L")
    framed = np.asarray(ImageOps.expand(scan, border=scan.width * 3 // 20, fill=0), dtype=np.float32)
    noise = np.random.default_rng(0).normal(48, 3, framed.shape)
    noisy = Image.fromarray(np.where(framed < 8, noise, framed).clip(0, 255).astype(np.uint8))
    out, cut = reframe(noisy)
    assert out.size == noisy.size and not cut


def test_a_scan_with_a_caption_on_a_page_is_cut_out_without_the_caption():
    from PIL import ImageDraw

    scan = Image.open(SCANS[5]).convert("L")
    page = Image.new("L", (scan.width * 2, scan.height * 2), 255)
    page.paste(scan, (scan.width // 2, scan.height // 3))
    draw = ImageDraw.Draw(page)
    draw.text((10, 10), "Case 12: axial T1 post-contrast", fill=0)
    for line in range(4):
        draw.text((20, scan.height * 4 // 3 + 20 + 14 * line), "Figure 3. An enhancing lesion in the left frontal lobe, 2026-11-30", fill=0)
    out, cut = reframe(page)
    assert cut and np.array_equal(np.asarray(out), np.asarray(scan))


def test_a_page_of_text_alone_is_left_whole():
    from PIL import ImageDraw

    page = Image.new("L", (600, 800), 255)
    draw = ImageDraw.Draw(page)
    for line in range(40):
        draw.text((30, 30 + 18 * line), "The quick brown fox jumps over the lazy dog, again and again and again.", fill=0)
    out, cut = reframe(page)
    assert not cut and out is page
