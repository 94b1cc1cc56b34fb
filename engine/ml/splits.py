"""Train/validation splits in which exact and near duplicates never straddle the two sides."""

from __future__ import annotations

import numpy as np

from engine.data import duplicates


def split_indices(manifest, paths: list[str], labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stratified, seeded split in which exact and near duplicates never straddle train and validation."""
    from sklearn.model_selection import StratifiedGroupKFold

    frame = manifest.set_index("path").loc[paths].reset_index()
    groups = duplicates.duplicate_groups(frame)
    # A small dataset (a demo's, a cross-validation fold of it) holds fewer scans of a class than splits asked for.
    smallest = int(np.bincount(labels).min()) if len(labels) else 2
    splitter = StratifiedGroupKFold(n_splits=max(2, min(round(1 / val_fraction), smallest)), shuffle=True, random_state=seed)
    train_idx, val_idx = next(splitter.split(np.zeros(len(labels)), labels, groups))
    return train_idx, val_idx


def fold_indices(manifest, paths: list[str], labels: np.ndarray, folds: int, seed: int) -> list[np.ndarray]:
    """The test indices of ``folds`` stratified folds in which duplicates never straddle two folds."""
    from sklearn.model_selection import StratifiedGroupKFold

    frame = manifest.set_index("path").loc[paths].reset_index()
    groups = duplicates.duplicate_groups(frame)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [test for _, test in splitter.split(np.zeros(len(labels)), labels, groups)]


def inner_split(manifest, paths: list[str], labels: np.ndarray, test_idx: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A cross-validation fold's inner training and validation scans: everything outside ``test_idx`` split as
    `split_indices` splits a dataset. Indices into ``labels``; one place, so an experiment re-deriving a fold's
    splits gets exactly those `benchmark cv` trained on."""
    rest = np.setdiff1d(np.arange(len(labels)), test_idx)
    inner_train, inner_val = split_indices(manifest, [paths[i] for i in rest], labels[rest], val_fraction, seed)
    return rest[inner_train], rest[inner_val]
