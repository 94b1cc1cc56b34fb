"""Hand-checked numbers: metrics, calibration, Amdahl fit, the plain-language reading."""

import numpy as np
import pytest

from engine.bench.amdahl import fit_amdahl, speedup
from engine.bench.reading import plain_reading
from engine.ml.calibration import calibrated_probabilities, expected_calibration_error, fit_temperature
from engine.ml.metrics import classification_report, wilson_interval


def test_report_matches_a_hand_checked_case():
    # true: g g m n p p ; predicted: g m m n p g
    labels = np.array([0, 0, 1, 2, 3, 3])
    probs = np.eye(4)[[0, 1, 1, 2, 3, 0]] * 0.9 + 0.025
    r = classification_report(labels, probs)
    assert r["n"] == 6 and r["accuracy"] == pytest.approx(4 / 6)
    assert r["confusion_matrix"] == [[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]]
    assert r["per_class"]["glioma"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert r["per_class"]["meningioma"]["precision"] == 0.5 and r["per_class"]["meningioma"]["recall"] == 1.0
    assert r["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 1 + 2 / 3) / 4)
    lo, hi = r["accuracy_ci95"]
    assert lo < 4 / 6 < hi


def test_wilson_interval_known_value():
    lo, hi = wilson_interval(95, 100)
    assert lo == pytest.approx(0.8882, abs=1e-3) and hi == pytest.approx(0.9785, abs=1e-3)


def test_temperature_undoes_overconfidence():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 2000)
    logits = rng.normal(0, 1, (2000, 4))
    logits[np.arange(2000), labels] += 1.0
    t = fit_temperature(logits * 5, labels)  # the same logits, made 5x overconfident
    assert t == pytest.approx(5, rel=0.15)
    before = expected_calibration_error(calibrated_probabilities(logits * 5, 1.0), labels)
    after = expected_calibration_error(calibrated_probabilities(logits * 5, t), labels)
    assert after < before / 2


def test_amdahl_recovers_a_known_serial_fraction():
    s = 0.2
    times = {k: [10 * (s + (1 - s) / k) * f for f in (0.98, 1.0, 1.02)] for k in (1, 2, 4)}
    fit = fit_amdahl(times)
    assert fit["serial_fraction"] == pytest.approx(0.2, abs=0.02)
    lo, hi = fit["serial_fraction_ci95"]
    assert lo <= fit["serial_fraction"] <= hi
    assert fit["projection"][1]["speedup"] == pytest.approx(float(speedup(fit["serial_fraction"], 2)))


def test_amdahl_needs_two_worker_counts():
    assert fit_amdahl({1: [1.0]})["serial_fraction"] is None


def test_plain_reading_states_the_break_even():
    result = {
        "images": 1000,
        "cores": 2,
        "runs": [
            {"method": "sequential", "input": "packed", "workers": 1, "seconds_median": 10.0, "breakdown": {}},
            {"method": "pool", "input": "packed", "workers": 2, "seconds_median": 5.5, "breakdown": {}},
            {"method": "spark-arrow", "input": "packed", "workers": 2, "seconds_median": 6.0, "breakdown": {"session_start": 3.0, "python_worker_start": 1.0}},
        ],
    }
    text = plain_reading(result)
    assert "2 cores" in text and "4.0 s" in text and "1,000 images" in text and "1.1x" in text
