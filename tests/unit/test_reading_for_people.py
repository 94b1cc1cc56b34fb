"""What people read: rounded numbers, the clinician's review rule, the promotion guard, the speed-up caveats."""

import pytest

from engine import numbers
from engine.bench.reading import caveats, fit_is_meaningful
from engine.clinic.classify import NO_TUMOUR_CONFIDENT_ABOVE, UNCERTAIN_BELOW, review_reason
from engine.ml.registry import promotion_concern


@pytest.mark.parametrize("value, text", [(0.0, "<0.1 s"), (0.04, "<0.1 s"), (2.345, "2.3 s"), (42.4, "42 s"), (600, "10.0 min")])
def test_seconds(value, text):
    assert numbers.seconds(value) == text


def test_probabilities_and_counts():
    assert numbers.probability(1.0) == ">99.9%" and numbers.probability(0.0) == "<0.1%" and numbers.probability(0.833) == "83.3%"
    assert numbers.count(1, "worker") == "1 worker" and numbers.count(2, "worker") == "2 workers"
    assert numbers.ratio(36.84) == "37x" and numbers.ratio(1.09) == "1.1x"


def test_no_tumour_must_clear_a_higher_bar_than_other_answers():
    between = (UNCERTAIN_BELOW + NO_TUMOUR_CONFIDENT_ABOVE) / 2  # e.g. the 83% "No tumour" a meningioma got
    assert review_reason("notumor", between)[0] is True
    assert "Review needed" in review_reason("notumor", between)[1]
    assert review_reason("meningioma", between) == (False, None)
    assert review_reason("notumor", 0.99) == (False, None)
    assert review_reason("glioma", UNCERTAIN_BELOW - 0.01)[0] is True


def _card(model_id, accuracy, default=False):
    return {"model_id": model_id, "validation": {"accuracy": accuracy}, "default": default}


def test_promoting_a_weaker_model_needs_a_second_thought():
    cards = [_card("current", 0.98, default=True), _card("better", 0.99), _card("worse", 0.95), _card("awful", 0.25)]
    assert promotion_concern(cards, "better") is None
    assert "less accurate than the current default" in promotion_concern(cards, "worse")
    concern = promotion_concern(cards, "awful")
    assert "below 90%" in concern and "less accurate" in concern


def test_speedup_caveats_and_when_a_projection_means_something():
    small = {"images": 40, "repeat": 1, "workers": [1, 2]}
    said = " ".join(caveats(small))
    assert "Only 40 images" in said and "One repeat" in said
    assert caveats({"images": 5708, "repeat": 3, "workers": [1, 2]}) == []
    assert not fit_is_meaningful({"serial_fraction": 1.0, "serial_fraction_ci95": [1.0, 1.0], "projection": [{}]})
    assert fit_is_meaningful({"serial_fraction": 0.16, "serial_fraction_ci95": [0.11, 0.26], "projection": [{}]})


def test_the_failure_demo_tells_what_happens():
    from dashboard.hdfs_sections import failure_story

    procs = {"datanode1": True, "datanode2": True, "datanode3": False}
    assert "has not noticed yet" in failure_story(procs, {"live_datanodes": 3, "under_replicated": 0}, 2)
    assert "re-replication" in failure_story(procs, {"live_datanodes": 2, "under_replicated": 120}, 2)
    assert "Re-replication is done" in failure_story(procs, {"live_datanodes": 2, "under_replicated": 0}, 2)


def test_a_dicom_that_says_it_is_not_mri_is_refused_before_the_model_looks():
    from PIL import Image

    from engine.clinic.classify import screen
    from engine.data.scans import Scan

    img = Image.linear_gradient("L").resize((128, 128))
    assert "nuclear-medicine" in screen(Scan(img, "dicom", {"Modality": "NM"}))
    assert "a CT image" in screen(Scan(img, "dicom", {"Modality": "CT"}))
    assert screen(Scan(img, "dicom", {"Modality": "MR"})) is None
    assert screen(Scan(img, "dicom", {"Modality": "OT"})) is None  # a secondary capture may be an MRI slice
    assert screen(Scan(img, "png", {"Modality": "CT"})) is None  # only a DICOM header is believed
