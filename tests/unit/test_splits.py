"""Splits: the validation share asked for, every class in both sides, duplicates never straddling two sides."""

import numpy as np
import pandas as pd
import pytest

from engine.ml.splits import fold_indices, inner_split, split_indices


def _manifest(n: int, seed: int = 0) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    paths = [f"scan-{i:04d}.jpg" for i in range(n)]
    sha = [f"{i:064x}" for i in range(n)]
    sha[1] = sha[0]  # one exact duplicate pair
    phash = [f"{int(v):016x}" for v in rng.integers(0, 2**63, n)]
    return pd.DataFrame({"path": paths, "sha256": sha, "phash": phash}), paths, np.arange(n) % 4


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.25])
def test_the_validation_share_is_the_one_asked_for(fraction):
    manifest, paths, labels = _manifest(800)
    train, val = split_indices(manifest, paths, labels, fraction, seed=42)
    assert len(val) / len(paths) == pytest.approx(fraction, abs=0.02)
    assert set(labels[val]) == set(labels[train]) == {0, 1, 2, 3}
    assert {0, 1} <= set(train) or {0, 1} <= set(val), "a duplicate pair stays on one side"


def test_a_small_dataset_gets_as_many_splits_as_its_smallest_class_allows():
    manifest, paths, labels = _manifest(20)  # 5 per class: ten splits cannot hold every class
    train, val = split_indices(manifest, paths, labels, 0.1, seed=42)
    assert len(train) + len(val) == 20 and 2 <= len(val) <= 6


def test_folds_cover_every_scan_once():
    manifest, paths, labels = _manifest(400)
    folds = fold_indices(manifest, paths, labels, 5, seed=42)
    assert sorted(np.concatenate(folds).tolist()) == list(range(400))
    assert all(abs(len(f) - 80) <= 4 for f in folds)


def test_a_folds_inner_split_partitions_the_rest_of_the_scans_as_a_split_of_them_would():
    manifest, paths, labels = _manifest(400)
    test = fold_indices(manifest, paths, labels, 5, seed=42)[2]
    train, val = inner_split(manifest, paths, labels, test, 0.1, seed=42)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(400))
    rest = np.setdiff1d(np.arange(400), test)
    own_train, own_val = split_indices(manifest, [paths[i] for i in rest], labels[rest], 0.1, seed=42)
    assert (train == rest[own_train]).all() and (val == rest[own_val]).all()
    assert len(val) / len(rest) == pytest.approx(0.1, abs=0.02)
