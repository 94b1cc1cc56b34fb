"""Export what `gpu_cv.py` trains on: the prepared scans of a dataset and the exact folds and inner splits
`benchmark cv` uses (same seed, same duplicate groups), as one compressed file for the GPU machine.

    .venv/bin/python docs/experiments/gpu_cv_export.py kaggle-train 128 .gpu/cv-data.npz
"""

import sys

import numpy as np

from engine.hdfs.storage import Storage
from engine.ml.config import TrainConfig
from engine.ml.splits import fold_indices, inner_split
from engine.ml.training import read_training_data
from engine.settings import load_settings


def main(dataset: str, size: int, out: str, folds: int = 5) -> None:
    config = TrainConfig(dataset=dataset, size=size).validate()
    settings = load_settings()
    x, y, paths, manifest = read_training_data(Storage(settings), config)
    tests = fold_indices(manifest, paths, y, folds, config.seed)
    arrays = {"x": x, "y": y}
    for k, test_idx in enumerate(tests):  # as engine.bench.cv.run_cv does
        train_idx, val_idx = inner_split(manifest, paths, y, test_idx, config.val_fraction, config.seed)
        arrays[f"train_{k + 1}"], arrays[f"val_{k + 1}"], arrays[f"test_{k + 1}"] = train_idx, val_idx, test_idx
    np.savez_compressed(out, **arrays)
    print({k: v.shape for k, v in arrays.items()})


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
