"""The real Kaggle training set (../shared/data): ingest all 5,708 scans and find its known duplicates.

Skipped with a reason where the folder is absent (a user's clone has no ../shared).
"""

import pytest

from engine.data import datasets, duplicates
from engine.data.ingest import ingest_dataset
from tests.images import SHARED_TRAINING

pytestmark = pytest.mark.skipif(not SHARED_TRAINING.is_dir(), reason=f"real data folder {SHARED_TRAINING} is absent")

NAME = "kaggle-train"


@pytest.fixture(scope="module")
def kaggle(storage):
    """The full training set in HDFS (ingested once; reused, and idempotent, if already there)."""
    result = ingest_dataset(storage, SHARED_TRAINING, NAME)
    return result, datasets.read_manifest(storage, NAME)


def test_every_real_scan_is_stored(kaggle):
    result, manifest = kaggle
    assert result["rejected"] == []
    assert result["stored"] + result["duplicates_skipped"] == 5708
    assert len(manifest) == 5708
    assert datasets.summarize(manifest)["per_class"] == {"glioma": 1321, "meningioma": 1339, "notumor": 1591, "pituitary": 1457}


def test_audit_finds_the_known_duplicates(kaggle):
    _, manifest = kaggle
    result = duplicates.audit_manifest(manifest)
    # The README: hundreds of byte-identical duplicates, mostly in notumor and meningioma.
    assert result["exact_duplicate_images"] >= 150
    per_class = result["per_class"]
    assert per_class["notumor"]["in_exact_groups"] > per_class["glioma"]["in_exact_groups"]
    assert result["near_groups"] > 0
