"""What a clinician is told about one scan the model has read: an answer, an answer that needs review, or a
refusal. One pure function of the calibrated probabilities and the feature distance, so the clinic and the
cross-validation (`benchmark cv`) judge scans by the same rules.

First, a check trained on both sides (:mod:`engine.ml.mri_check`) refuses what is not a brain MRI slice at all,
and flags for review what it finds more likely not one (a negative score) without being sure enough to refuse: a
new kind of image that slips past the refusal then gets no plain answer (`benchmark refusal`, docs/model.md). A
test of physics, not learnt (:mod:`engine.data.bone_ring`), does the same for a skull drawn as CT draws bone.
Two doubts together refuse: a scan the check scores among its lowest 1% of real scans that is also far from the
training scans or CT-like, which almost no real scan is, while a new kind of image that slips past each test
alone often meets two of them.
The feature distance has two thresholds, both fitted on held-out real scans (:mod:`engine.ml.ood`). Beyond the
first, a scan is unusual for the training data, and unusual real scans exist (a rare view, a strong contrast, a
large tumour): it is answered and flagged for review. Only far beyond it, where no held-out real scan goes, is it
refused: a distance alone cannot tell an unusual brain MRI from an image that is not one, so refusing at the
first threshold refused real meningiomas while images that are not MRI at all were stopped by other checks.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from engine.classes import CLASSES
from engine.data import bone_ring
from engine.data.framing import SMALL_FRAME_BELOW
from engine.numbers import probability as percent

UNCERTAIN_BELOW = 0.70  # calibrated top probability under which a person must review the answer
# "No tumour" is the answer a reader may act on by doing nothing, so it must clear a higher bar: a missed tumour
# costs more than a second look. Below it the answer is flagged for review like any uncertain one.
NO_TUMOUR_CONFIDENT_ABOVE = 0.95

UNUSUAL_REASON = (
    "Review needed: this scan is unusual for the brain MRI slices the model was trained on (further from them than "
    "99.5% of real scans), so its answer may be less reliable than usual."
)
NOT_LAID_OUT_REASON = (
    "This does not look like a brain MRI slice: the model finds it unusual and its layout (dark frame, contrast, "
    "symmetry) is unlike any real scan held out from training, so it is refused rather than guessed."
)
NOT_BRAIN_MRI_REASON = (
    "This does not look like a brain MRI slice: a check trained on real brain MRI against CT, X-ray, ultrasound, "
    "nuclear medicine, MRI of other body parts and photographs finds it unlike the real scans, so it is refused rather than guessed."
)
TWO_DOUBTS_REASON = (
    "This does not look like a brain MRI slice: two independent tests doubt it. The brain-MRI check scores it "
    "lower than 99% of real scans held out from training, and it is also further from the training scans than "
    "99.5% of real ones or has a skull drawn bright, as CT draws bone. Real scans almost never meet both, so it is "
    "refused rather than guessed."
)
CT_REASON = (
    "This looks like a CT scan, not an MRI: the skull is drawn as a white band of bone with brain tissue right inside "
    "it, as CT shows bone (in MRI the skull gives no signal and is dark). The model reads brain MRI slices only, so it "
    "is refused rather than guessed."
)
CT_DOUBT_REASON = (
    "Review needed: the skull is drawn bright, as CT shows bone, around much of the head (in MRI it is usually dark): "
    "check that this is a brain MRI, not a CT, before relying on the answer."
)
MRI_DOUBT_REASON = (
    "Review needed: the brain-MRI check finds this more likely not a brain MRI slice than one, though not as unlike "
    "the real scans as what it refuses; check that it is a brain MRI before relying on the answer."
)
SMALL_FRAME_REASON = (
    "Review needed: the head fills less of the image than in almost every training scan (a zoomed-out screenshot or "
    "a padded export?). The training scans with a tumour are framed smaller than those without, so the model may "
    "read a small head as a tumour: check the answer, or upload the slice as exported."
)
# Measured on the 288 unseen scans downscaled (docs/model.md): 64 px and up read as well as the originals, 48 px left
# 1.4% wrong without a flag and 32 px 4.5%, so a scan whose head is drawn with fewer pixels is never answered plainly.
LOW_RESOLUTION_BELOW = 64


def low_resolution_reason(side: int) -> str:
    return (
        f"Review needed: the scan is only {side} px across, so fine detail such as a small tumour may be lost (real "
        f"scans shrunk under {LOW_RESOLUTION_BELOW} px got more wrong answers): check the answer, or upload the slice at its exported size."
    )


# Every training scan is square. A wider image that is no letterboxed square (re-framing cuts those) is a scan
# stretched, or two slices side by side: read squeezed into the model's square, 5.8% of 120 unseen scans paired
# side by side got a wrong answer with no flag. A 4:3 stretch (1.33) reads as well as the original.
WIDE_ABOVE = 1.5
WIDE_REASON = (
    "Review needed: the image is much wider (or taller) than a scan slice, which is square: the model read it squeezed "
    "into a square. If it shows several slices side by side, upload one slice."
)
DARK_REASON = (
    "Review needed: the head is darker than in 98% of the scans the model was trained on (a screenshot with a darker "
    "window or gamma than the export?). The answer combines the scan read as it is and brightened; darkened tumour "
    "scans are often read as no tumour, so check the answer, or upload the slice as exported."
)
REFUSED_REASON = (
    "This does not look like the brain MRI slices the model was trained on: it is further from them than any real "
    "scan held out from training, so it is refused rather than guessed."
)


@dataclasses.dataclass(frozen=True)
class Verdict:
    label: str | None  # None when refused
    rejected: bool
    uncertain: bool
    reason: str | None


@dataclasses.dataclass(frozen=True)
class Looks:
    """How a prepared scan looks, apart from what the model reads into it; None: not measured."""

    span: float | None = None  # the head's share of the frame (engine.data.framing.content_span)
    brightness: float | None = None  # the mean brightness of its central half (engine.data.exposure.content_brightness)
    side: int | None = None  # the smaller side, in the upload's own pixels, of the image the model read
    aspect: float | None = None  # that image's long side over its short side
    bone_ring: float | None = None  # the share of rays crossing a CT-like bone band (engine.data.bone_ring)


def review_reason(label: str, top: float) -> tuple[bool, str | None]:
    """(needs review, why) for an answer; "No tumour" needs NO_TUMOUR_CONFIDENT_ABOVE, every other UNCERTAIN_BELOW."""
    if top < UNCERTAIN_BELOW:
        return True, f"Uncertain — review needed: the top probability is {percent(top)}."
    if label == "notumor" and top < NO_TUMOUR_CONFIDENT_ABOVE:
        return True, (
            f"Review needed: “No tumour” at {percent(top)} is below the {NO_TUMOUR_CONFIDENT_ABOVE:.0%} this answer must reach to stand without a second look."
        )
    return False, None


def refuse_threshold(ood: dict) -> float:
    """The distance beyond which a scan is refused; models fitted before the two tiers refuse at 1.5x the first."""
    return float(ood.get("refuse_threshold") or 1.5 * ood["threshold"])


def _check_doubts(check: dict | None, mri_score: float | None) -> bool:
    """The brain-MRI check scores the scan among the lowest 1% of held-out real scans (its ``doubt_below``; checks
    fitted before that line doubt only what they refuse). Doubted and also far from the training scans or CT-like:
    1 of 4,548 cross-validated real scans, but 8 of the 27 images of a whole kind left out of the check that
    escaped refusal, and 8 of 13 of a source left out (docs/model.md, "Two doubts refuse")."""
    if not check or mri_score is None:
        return False
    return mri_score < check.get("doubt_below", check["threshold"])


def verdict(
    probs: np.ndarray,
    distance: float | None,
    ood: dict | None,
    layout_distance: float | None = None,
    mri_score: float | None = None,
    looks: Looks | None = None,
) -> Verdict:
    """The verdict on one scan from its calibrated probabilities, feature distance, layout distance, brain-MRI
    score (:mod:`engine.ml.mri_check`) and looks (resolution, shape, framing, brightness and CT bone); None: no statistics."""
    check = (ood or {}).get("mri_check")
    looks = looks or Looks()
    if check and mri_score is not None and mri_score < check["threshold"]:
        return Verdict(None, True, False, NOT_BRAIN_MRI_REASON)
    if looks.bone_ring is not None and looks.bone_ring >= bone_ring.REFUSE_ABOVE:
        return Verdict(None, True, False, CT_REASON)
    if distance is not None and ood is not None and distance > refuse_threshold(ood):
        return Verdict(None, True, False, REFUSED_REASON)
    layout = (ood or {}).get("layout")
    unusual = distance is not None and ood is not None and distance > ood["threshold"]
    if unusual and layout and layout_distance is not None and layout_distance > layout["threshold"]:
        return Verdict(None, True, False, NOT_LAID_OUT_REASON)
    ct_like = looks.bone_ring is not None and looks.bone_ring >= bone_ring.REVIEW_ABOVE
    if _check_doubts(check, mri_score) and (unusual or ct_like):
        return Verdict(None, True, False, TWO_DOUBTS_REASON)
    label = CLASSES[int(np.argmax(probs))]
    if check and mri_score is not None and mri_score < 0:  # "not a brain MRI" more likely: never a plain answer
        return Verdict(label, False, True, MRI_DOUBT_REASON)
    if ct_like:
        return Verdict(label, False, True, CT_DOUBT_REASON)
    if looks.side is not None and looks.side < LOW_RESOLUTION_BELOW:
        return Verdict(label, False, True, low_resolution_reason(looks.side))
    if looks.aspect is not None and looks.aspect > WIDE_ABOVE:
        return Verdict(label, False, True, WIDE_REASON)
    if looks.span is not None and looks.span < SMALL_FRAME_BELOW:  # framing sways this model (docs/model.md): never a plain answer
        return Verdict(label, False, True, SMALL_FRAME_REASON)
    dark_below = (ood or {}).get("dark_below")  # absent from models fitted before the flag
    if dark_below is not None and looks.brightness is not None and looks.brightness < dark_below:
        return Verdict(label, False, True, DARK_REASON)
    uncertain, reason = review_reason(label, float(np.max(probs)))
    if not uncertain and unusual:
        uncertain, reason = True, UNUSUAL_REASON
    return Verdict(label, False, uncertain, reason)
