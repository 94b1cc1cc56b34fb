"""The darkness flag's measure: a scan shown with a darker gamma reads darker, the flag line is a low quantile of
the training scans' brightness, and an all-dark image has no brightness to judge."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.data.exposure import DARK_QUANTILE, brightened, brightness_of, content_brightness, dark_and_lifted, fit_exposure
from engine.data.pixels import prepare_pil
from engine.data.shifts import _gamma

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample" / "Training"
SCANS = sorted(SAMPLE.glob("*/*"))

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("path", SCANS, ids=lambda p: p.name)
def test_a_scan_shown_darker_reads_darker_and_brighter_reads_brighter(path):
    scan = Image.open(path).convert("L")
    as_is, darker, brighter = (content_brightness(prepare_pil(img, 128)) for img in (scan, _gamma(scan, 1.5), _gamma(scan, 0.6)))
    assert 0 < darker < as_is < brighter <= 1


def test_the_flag_line_is_a_low_quantile_of_the_training_scans_and_skips_all_dark_ones():
    brightness = np.append(np.linspace(0.2, 0.6, 401), np.nan)
    assert fit_exposure(brightness) == pytest.approx({"dark_below": 0.2 + 0.4 * DARK_QUANTILE, "brightness_median": 0.4})
    blank = np.zeros((2, 128, 128, 1), dtype=np.uint8)
    assert content_brightness(blank[0]) is None and np.isnan(brightness_of(blank)).all()


def test_the_sample_scans_at_gamma_2_are_darker_than_the_flag_line_fitted_on_them():
    scans = [Image.open(p).convert("L") for p in SCANS]
    line = fit_exposure(brightness_of(np.stack([prepare_pil(s, 128) for s in scans])))
    darkened = brightness_of(np.stack([prepare_pil(_gamma(s, 2.0), 128) for s in scans]))
    assert (darkened < line["dark_below"]).mean() >= 0.8


@pytest.mark.parametrize("path", SCANS[::5], ids=lambda p: p.name)
def test_a_darkened_scan_is_lifted_back_to_about_its_own_brightness_and_a_bright_one_left_alone(path):
    scan = Image.open(path).convert("L")
    as_is, darker = prepare_pil(scan, 128), prepare_pil(_gamma(scan, 1.5), 128)
    lifted = brightened(darker, content_brightness(as_is))
    assert content_brightness(lifted) == pytest.approx(content_brightness(as_is), abs=0.01)
    assert np.abs(lifted.astype(int) - as_is.astype(int)).mean() < 4  # the same picture again, to within a few grey levels
    assert brightened(as_is, content_brightness(darker)) is as_is


def test_only_scans_under_the_line_are_lifted_and_none_by_statistics_without_a_target():
    scan = Image.open(SCANS[0]).convert("L")
    scans = np.stack([prepare_pil(scan, 128), prepare_pil(_gamma(scan, 2.0), 128)])
    b = brightness_of(scans)
    dark, lifted = dark_and_lifted(scans, b, {"dark_below": (b[0] + b[1]) / 2, "brightness_median": b[0]})
    assert dark.tolist() == [False, True] and lifted.shape == (1, 128, 128, 1)
    assert content_brightness(lifted[0]) == pytest.approx(b[0], abs=0.01)
    dark, lifted = dark_and_lifted(scans, b, {"dark_below": 0.9})  # statistics fitted before the second reading
    assert not dark.any() and len(lifted) == 0
