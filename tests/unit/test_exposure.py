"""The darkness flag's measure: a scan shown with a darker gamma reads darker, the flag line is a low quantile of
the training scans' brightness, and an all-dark image has no brightness to judge."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.data.exposure import DARK_QUANTILE, brightness_of, content_brightness, fit_dark_below
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
    assert fit_dark_below(brightness) == pytest.approx(0.2 + 0.4 * DARK_QUANTILE)
    blank = np.zeros((2, 128, 128, 1), dtype=np.uint8)
    assert content_brightness(blank[0]) is None and np.isnan(brightness_of(blank)).all()


def test_the_sample_scans_at_gamma_2_are_darker_than_the_flag_line_fitted_on_them():
    scans = [Image.open(p).convert("L") for p in SCANS]
    line = fit_dark_below(brightness_of(np.stack([prepare_pil(s, 128) for s in scans])))
    darkened = brightness_of(np.stack([prepare_pil(_gamma(s, 2.0), 128) for s in scans]))
    assert (darkened < line).mean() >= 0.8
