"""The clinic's gate: an unusual real scan is answered and flagged, only a far one is refused; colour is judged
by the share of strongly coloured pixels, so a tinted scan or one with a coloured banner is still read."""

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from sklearn.datasets import load_sample_images

from engine.clinic import gate
from engine.clinic.classify import screen
from engine.data.scans import read_scan

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample" / "Training"
OOD = {"threshold": 16.0, "refuse_threshold": 24.0}
CONFIDENT_GLIOMA = np.array([0.97, 0.01, 0.01, 0.01])


def test_a_scan_within_the_review_threshold_is_answered_plainly():
    v = gate.verdict(CONFIDENT_GLIOMA, 9.0, OOD)
    assert (v.label, v.rejected, v.uncertain, v.reason) == ("glioma", False, False, None)


def test_an_unusual_scan_is_answered_and_flagged_for_review_not_refused():
    v = gate.verdict(CONFIDENT_GLIOMA, 20.0, OOD)  # e.g. the meningiomas at 16-23 that used to be refused
    assert v.label == "glioma" and not v.rejected and v.uncertain
    assert v.reason.startswith("Review needed: this scan is unusual")


def test_only_a_scan_beyond_the_refusal_threshold_is_refused():
    v = gate.verdict(CONFIDENT_GLIOMA, 24.5, OOD)
    assert v.rejected and v.label is None and "refused rather than guessed" in v.reason


def test_statistics_without_a_refusal_threshold_refuse_at_one_and_a_half_times_the_review_one():
    assert gate.refuse_threshold({"threshold": 16.0}) == 24.0
    assert not gate.verdict(CONFIDENT_GLIOMA, 23.0, {"threshold": 16.0}).rejected


def test_a_low_probability_keeps_its_own_reason_even_when_unusual():
    v = gate.verdict(np.array([0.4, 0.3, 0.2, 0.1]), 20.0, OOD)
    assert v.uncertain and v.reason.startswith("Uncertain")


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _real_scan() -> Image.Image:
    return Image.open(next(SAMPLE.glob("notumor/*"))).convert("RGB")


def test_a_faint_tint_or_a_coloured_banner_does_not_make_a_scan_a_colour_image():
    scan = np.asarray(_real_scan()).astype(np.int16)
    tinted = np.clip(scan + np.array([6, 0, -4]), 0, 255).astype(np.uint8)  # a faint tint over every pixel
    assert screen(read_scan(_png(Image.fromarray(tinted)))) is None
    bannered = _real_scan()
    w, h = bannered.size
    ImageDraw.Draw(bannered).rectangle((0, 0, w, int(h * 0.08)), fill=(20, 90, 200))  # a publisher's banner
    assert screen(read_scan(_png(bannered))) is None


def test_colour_photos_are_refused_as_colour_images():
    for arr in load_sample_images().images:
        reason = screen(read_scan(_png(Image.fromarray(arr))))
        assert reason and "colour image" in reason


CHECK = {**OOD, "mri_check": {"threshold": -1.5}}


def test_an_image_the_brain_mri_check_scores_below_its_threshold_is_refused_whatever_its_distance():
    v = gate.verdict(CONFIDENT_GLIOMA, 9.0, CHECK, mri_score=-3.0)  # a head CT sits close to the training scans
    assert v.rejected and v.label is None and v.reason == gate.NOT_BRAIN_MRI_REASON


def test_a_scan_the_check_doubts_but_does_not_refuse_is_answered_and_flagged_for_review():
    doubted = gate.verdict(CONFIDENT_GLIOMA, 9.0, CHECK, mri_score=-1.0)
    assert not doubted.rejected and doubted.label == "glioma" and doubted.uncertain and doubted.reason == gate.MRI_DOUBT_REASON
    sure = gate.verdict(CONFIDENT_GLIOMA, 9.0, CHECK, mri_score=0.5)
    assert not sure.rejected and not sure.uncertain
    assert not gate.verdict(CONFIDENT_GLIOMA, 9.0, CHECK).uncertain  # no score: statistics of an older model


DOUBTING_CHECK = {**OOD, "mri_check": {"threshold": 0.0, "doubt_below": 3.0}}


def test_a_scan_the_check_puts_in_its_lowest_percent_is_refused_only_with_a_second_doubt():
    lone = gate.verdict(CONFIDENT_GLIOMA, 9.0, DOUBTING_CHECK, mri_score=2.0)  # one real scan in a hundred is there
    assert not lone.rejected and lone.label == "glioma" and not lone.uncertain
    far = gate.verdict(CONFIDENT_GLIOMA, 20.0, DOUBTING_CHECK, mri_score=2.0)
    ct_like = gate.verdict(CONFIDENT_GLIOMA, 9.0, DOUBTING_CHECK, mri_score=2.0, looks=gate.Looks(bone_ring=gate.bone_ring.REVIEW_ABOVE))
    assert far.rejected and ct_like.rejected and far.reason == ct_like.reason == gate.TWO_DOUBTS_REASON and far.label is None
    sure = gate.verdict(CONFIDENT_GLIOMA, 20.0, DOUBTING_CHECK, mri_score=3.5, looks=gate.Looks(bone_ring=gate.bone_ring.REVIEW_ABOVE))
    assert not sure.rejected and sure.uncertain  # far and CT-like alone flag, they do not refuse
    older = gate.verdict(CONFIDENT_GLIOMA, 20.0, {**OOD, "mri_check": {"threshold": 0.0}}, mri_score=2.0)
    assert not older.rejected and older.reason == gate.UNUSUAL_REASON  # a check fitted before the line: no change


def test_a_scan_framed_smaller_than_almost_every_training_scan_is_answered_and_flagged_for_review():
    small = gate.verdict(CONFIDENT_GLIOMA, 9.0, OOD, looks=gate.Looks(span=gate.SMALL_FRAME_BELOW - 0.05))  # e.g. 25% black padding
    assert not small.rejected and small.label == "glioma" and small.uncertain and small.reason == gate.SMALL_FRAME_REASON
    assert not gate.verdict(CONFIDENT_GLIOMA, 9.0, OOD, looks=gate.Looks(span=0.9)).uncertain
    assert not gate.verdict(CONFIDENT_GLIOMA, 9.0, OOD).uncertain  # no span measured: no flag


def test_a_scan_darker_than_the_models_flag_line_is_answered_and_flagged_for_review():
    with_line = {**OOD, "dark_below": 0.30}
    dark = gate.verdict(CONFIDENT_GLIOMA, 9.0, with_line, looks=gate.Looks(span=0.9, brightness=0.25))  # e.g. gamma 1.5
    assert not dark.rejected and dark.label == "glioma" and dark.uncertain and dark.reason == gate.DARK_REASON
    assert not gate.verdict(CONFIDENT_GLIOMA, 9.0, with_line, looks=gate.Looks(span=0.9, brightness=0.40)).uncertain
    # a model fitted before the flag has no line: its answers are not flagged for darkness
    assert not gate.verdict(CONFIDENT_GLIOMA, 9.0, OOD, looks=gate.Looks(span=0.9, brightness=0.25)).uncertain


def test_a_scan_drawn_with_few_pixels_is_answered_and_flagged_for_review():
    tiny = gate.verdict(CONFIDENT_GLIOMA, 9.0, OOD, looks=gate.Looks(span=0.9, side=gate.LOW_RESOLUTION_BELOW - 1))
    assert not tiny.rejected and tiny.label == "glioma" and tiny.uncertain and "only 63 px across" in tiny.reason
    assert not gate.verdict(CONFIDENT_GLIOMA, 9.0, OOD, looks=gate.Looks(span=0.9, side=gate.LOW_RESOLUTION_BELOW)).uncertain
    assert not gate.verdict(CONFIDENT_GLIOMA, 9.0, OOD, looks=gate.Looks(span=0.9)).uncertain  # not measured: no flag


def test_an_image_much_wider_than_a_square_slice_is_answered_and_flagged_for_review():
    wide = gate.verdict(CONFIDENT_GLIOMA, 9.0, OOD, looks=gate.Looks(span=0.9, side=224, aspect=2.0))  # two slices side by side
    assert not wide.rejected and wide.uncertain and wide.reason == gate.WIDE_REASON
    assert not gate.verdict(CONFIDENT_GLIOMA, 9.0, OOD, looks=gate.Looks(span=0.9, side=480, aspect=640 / 480)).uncertain
