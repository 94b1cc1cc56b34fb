"""The CT-bone test of the gate (engine.data.bone_ring): a skull drawn white with brain right inside it, as CT draws
bone, is refused or flagged; real brain MRI, whose skull is dark, is not. Read through the clinic's own decoding,
re-framing and preparation, on real images: the repo's sample scans and the head CT slices kept out of every fit."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from engine.clinic import gate
from engine.clinic.classify import read_uploads
from engine.data import bone_ring
from engine.data.not_brain_mri import listed_digests
from engine.data.pixels import prepare_pil

ASSETS = Path(__file__).resolve().parents[2] / "assets"
SAMPLE = sorted((ASSETS / "sample" / "Training").glob("*/*.jpg"))
UNSEEN_HEAD_CT = ASSETS / "reference" / "unseen-negatives"
CONFIDENT_GLIOMA = np.array([0.97, 0.01, 0.01, 0.01])
OOD = {"threshold": 16.0, "refuse_threshold": 24.0}


def share_of(path: Path) -> float | None:
    answer = read_uploads([(path.name, path.read_bytes())])[0]
    return bone_ring.bone_ring_share(prepare_pil(answer.grey, 128, 1))


def is_listed_ct(path: Path) -> bool:
    return hashlib.sha256(path.read_bytes()).hexdigest() in listed_digests()


def test_the_sample_brain_mri_scans_show_no_ct_bone():
    shares = {p.name: share_of(p) for p in SAMPLE if not is_listed_ct(p)}
    assert len(shares) >= 39 and all(s is not None for s in shares.values())
    assert max(shares.values()) < bone_ring.REVIEW_ABOVE, shares


def test_the_head_ct_slice_the_dataset_files_as_no_tumour_is_refused_as_ct():
    listed = [p for p in SAMPLE if is_listed_ct(p)]
    assert listed and all(share_of(p) >= bone_ring.REFUSE_ABOVE for p in listed)


@pytest.mark.parametrize("level", ["z54", "z63"])
def test_a_head_ct_at_a_wide_window_is_refused_as_ct(level):
    # the gate's known hole before the test: answered "glioma" with no flag
    assert share_of(UNSEEN_HEAD_CT / f"ct__ct-head-invesalius-{level}.png") >= bone_ring.REFUSE_ABOVE


@pytest.mark.parametrize("level", ["z36", "z45"])
def test_a_head_ct_lower_in_the_head_is_at_least_flagged(level):
    assert share_of(UNSEEN_HEAD_CT / f"ct__ct-head-invesalius-{level}.png") >= bone_ring.REVIEW_ABOVE


def test_the_bone_band_is_what_counts_not_brightness_alone():
    head = np.zeros((128, 128), dtype=np.uint8)
    yy, xx = np.mgrid[:128, :128]
    r = np.hypot(yy - 64, xx - 64)
    ct = np.where(r < 50, 120, 0) + np.where((r >= 44) & (r < 50), 135, 0)  # white bone, grey brain right inside
    mri = ct.copy()
    mri[(r >= 39) & (r < 44)] = 20  # the same ring, with MRI's dark bone inside the bright fat
    assert bone_ring.bone_ring_share(ct.astype(np.uint8)) == 1.0
    assert bone_ring.bone_ring_share(mri.astype(np.uint8)) == 0.0
    assert bone_ring.bone_ring_share(head) is None  # no head: not measured


def test_the_gate_refuses_beyond_the_second_tier_and_flags_between():
    refused = gate.verdict(CONFIDENT_GLIOMA, 9.0, OOD, looks=gate.Looks(bone_ring=bone_ring.REFUSE_ABOVE))
    assert refused.rejected and refused.label is None and refused.reason == gate.CT_REASON
    flagged = gate.verdict(CONFIDENT_GLIOMA, 9.0, OOD, looks=gate.Looks(bone_ring=bone_ring.REVIEW_ABOVE))
    assert not flagged.rejected and flagged.label == "glioma" and flagged.uncertain and flagged.reason == gate.CT_DOUBT_REASON
    assert not gate.verdict(CONFIDENT_GLIOMA, 9.0, OOD, looks=gate.Looks(bone_ring=0.2)).uncertain
