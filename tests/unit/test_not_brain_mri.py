"""The dataset's images that are not brain MRI: listed by content, recognised under any path, learnt by the
brain-MRI check as CT negatives (and left out with the CT group), never among its positives."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from engine.data import not_brain_mri
from engine.ml import mri_check
from tests.images import SAMPLE


def test_the_list_names_head_ct_slices_published_as_no_tumour_or_meningioma_by_their_content():
    files = json.loads(not_brain_mri.LIST_FILE.read_text())["files"]
    assert len(files) == 48 and len(not_brain_mri.listed_digests()) == 27  # exact copies share a digest
    assert {f["class_as_published"] for f in files} == {"notumor", "meningioma"} and {f["kind"] for f in files} == {"head CT"}
    assert all(len(f["sha256"]) == 64 for f in files)


def test_a_listed_file_is_recognised_by_content_whatever_its_path():
    ct = SAMPLE / "Training" / "notumor" / "Tr-no_1174.jpg"  # the shipped sample holds one of them
    mri = SAMPLE / "Training" / "notumor" / sorted(p.name for p in (SAMPLE / "Training" / "notumor").glob("*.jpg") if p.name != ct.name)[0]
    manifest = pd.DataFrame(
        {
            "path": ["/mri/datasets/any-name/raw/a.jpg", "/mri/datasets/any-name/raw/b.jpg"],
            "sha256": [hashlib.sha256(f.read_bytes()).hexdigest() for f in (ct, mri)],
        }
    )
    assert not_brain_mri.not_brain_mri(manifest, list(manifest["path"]) + ["/not/in/the/manifest.jpg"]).tolist() == [True, False, False]


def test_the_check_learns_listed_images_as_ct_negatives_and_leaves_them_out_with_ct():
    listed = np.random.default_rng(0).integers(0, 255, (3, 64, 64, 1), dtype=np.uint8)
    _, sources, groups = mri_check.negative_arrays(64, 1, per_source=0, x_not_mri=listed)
    mine = [g for s, g in zip(sources, groups) if s.startswith("dataset-not-mri-")]
    assert mine == [not_brain_mri.GROUP] * 3 * (2 + not_brain_mri.DATASET_VARIANTS)
    base = len(mri_check.negative_arrays(64, 1, per_source=0)[1])
    assert len(sources) == base + len(mine)

    rows = {
        "pos": np.random.default_rng(1).normal(1.0, 1.0, (200, 4)),
        "neg": np.random.default_rng(2).normal(-1.0, 1.0, (len(sources), 4)),
        "neg_sources": np.array(sources),
        "neg_groups": np.array(groups),
        "heldout": np.random.default_rng(3).normal(1.0, 1.0, (200, 4)),
    }
    assert any(s.startswith("dataset-not-mri-") for s in mri_check.fit_from_rows(rows)["negative_sources"])
    assert not any(s.startswith("dataset-not-mri-") for s in mri_check.fit_from_rows(rows, leave_out_group="ct")["negative_sources"])


def test_check_rows_takes_listed_images_out_of_the_scans_and_learns_them_as_negatives():
    rng = np.random.default_rng(4)
    x_train, x_held = rng.integers(0, 255, (5, 128, 128, 1), dtype=np.uint8), rng.integers(0, 255, (4, 128, 128, 1), dtype=np.uint8)
    listed_train, listed_held = np.array([False, True, False, False, True]), np.array([True, False, False, False])
    seen = []

    def features_of(x):
        seen.append(x)
        return np.zeros((len(x), 2), dtype=np.float32)

    rows = mri_check.check_rows(features_of, x_train, x_held, not_mri=(listed_train, listed_held), in_threshold=np.array([True, True, False, True]))
    assert np.array_equal(seen[0], x_train[~listed_train])  # the positives: scans only
    assert np.array_equal(seen[3][:2], x_held[[1, 3]])  # the threshold's scans: in its half and not listed
    assert sum(s.startswith("dataset-not-mri-") for s in rows["neg_sources"]) == 3 * (2 + not_brain_mri.DATASET_VARIANTS)

    seen.clear()  # a threshold half holding only listed images falls back to every held-out scan
    mri_check.check_rows(features_of, x_train, x_held, not_mri=(listed_train, listed_held), in_threshold=np.array([True, False, False, False]))
    assert np.array_equal(seen[3][:3], x_held[1:])


def test_a_listed_slice_is_also_learnt_as_a_wide_window_shows_it():
    """A brain-window head CT re-windowed to a wide soft-tissue window: the brain's grey range shrinks to a fifth
    around mid grey, the skull stays white, the air around the head black."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (128, 128), 0)
    draw = ImageDraw.Draw(img)
    draw.ellipse((14, 14, 114, 114), fill=255)  # the skull
    draw.ellipse((22, 22, 106, 106), fill=64)  # grey matter
    draw.ellipse((50, 50, 78, 78), fill=192)  # brighter: a bleed
    wide = np.asarray(not_brain_mri.widened(img), dtype=np.float32)
    assert wide[0, 0] == 0 and wide[64, 18] > 250
    brain, bleed = wide[40, 64], wide[64, 64]
    assert 90 < brain < bleed < 160
    assert (bleed - brain) * 5 == pytest.approx(192 - 64, abs=6)
    (negative,) = not_brain_mri.as_negatives(np.asarray(img)[None, :, :, None])
    assert len(negative.renderings) == 1
