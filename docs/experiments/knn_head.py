"""Does a nearest-neighbour vote over the training scans' penultimate features correct the network's head?

For each cached fold of `benchmark cv` (its model, arrays and shipped-reading logits under `.run/cv/KEY/fold-K`):
the fold's inner training scans are the memory (their features read once, as cached), the inner-validation and
test scans are read as the shipped model reads (in the thin rim, averaged with the mirror image), and the
network's probabilities (temperature fitted on the inner validation) are blended with the share of the k
nearest training scans (cosine) of each class. k and the blend's weight are chosen on the inner validation
scans only, then the test scans are counted once.

    .venv/bin/python docs/experiments/knn_head.py 1 2 [--read-memory]
"""

import sys

import numpy as np

from engine.classes import CLASSES
from engine.hdfs.storage import Storage
from engine.ml.config import TrainConfig
from engine.ml.splits import inner_split
from engine.ml.training import read_training_data
from engine.settings import load_settings

FOLDER = ".run/cv/kaggle-train-128px-5folds-74f2362c28"
KS, WEIGHTS = (5, 10, 20, 40), (0.0, 0.25, 0.5, 0.75, 1.0)
READ_MEMORY = "--read-memory" in sys.argv  # the training scans read as the shipped model reads, too


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def knn_shares(memory: np.ndarray, labels: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    a = memory / np.linalg.norm(memory, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    nearest = np.argsort(-(q @ a.T), axis=1)[:, :k]
    return np.stack([(labels[nearest] == c).mean(1) for c in range(len(CLASSES))], axis=1)


def shipped_features(model, x: np.ndarray) -> np.ndarray:
    from engine.ml.ood import features_of
    from engine.ml.test_time import RIM_SCALE, mirrored, rimmed

    run = features_of(model)
    framed = rimmed(x, RIM_SCALE)
    return (run(framed) + run(np.ascontiguousarray(mirrored(framed)))) / 2


def main(folds: list[int]) -> None:
    import keras

    from engine.ml.calibration import fit_temperature

    config = TrainConfig(dataset="kaggle-train", size=128)
    x, y, paths, manifest = read_training_data(Storage(load_settings()), config)
    totals = {"network": 0, "knn": 0, "blend": 0, "n": 0}
    for k in folds:
        folder = f"{FOLDER}/fold-{k}"
        arrays, lifted = np.load(f"{folder}/arrays.npz"), np.load(f"{folder}/lifted-rim0.94.npz")
        model = keras.models.load_model(f"{folder}/checkpoint.keras")
        test_idx = arrays["test_idx"]
        y_val, y_test = arrays["y_val"], arrays["y_test"]
        train_rows, val_rows = inner_split(manifest, paths, y, test_idx, config.val_fraction, config.seed)  # as `benchmark cv` split
        assert (y[train_rows] == arrays["y_train"]).all() and (y[val_rows] == y_val).all()
        f_val, f_test = shipped_features(model, x[val_rows]), shipped_features(model, x[test_idx])
        memory = shipped_features(model, x[train_rows]) if READ_MEMORY else arrays["feats_train"]
        t = fit_temperature(lifted["logits_val"], y_val)
        p_val, p_test = softmax(lifted["logits_val"] / t), softmax(lifted["logits_test"] / t)
        best = None
        for n in KS:
            s_val = knn_shares(memory, arrays["y_train"], f_val, n)
            for w in WEIGHTS:
                errors = int((((1 - w) * p_val + w * s_val).argmax(1) != y_val).sum())
                loss = -np.log(((1 - w) * p_val + w * s_val)[np.arange(len(y_val)), y_val] + 1e-6).mean()
                if best is None or (errors, loss) < best[:2]:
                    best = (errors, loss, n, w)
        _, _, n, w = best
        s_test = knn_shares(memory, arrays["y_train"], f_test, n)
        blend = (1 - w) * p_test + w * s_test
        row = {
            "network": int((p_test.argmax(1) != y_test).sum()),
            "knn": int((s_test.argmax(1) != y_test).sum()),
            "blend": int((blend.argmax(1) != y_test).sum()),
        }
        recall = {c: round(float((blend.argmax(1)[y_test == i] == i).mean()), 4) for i, c in enumerate(CLASSES)}
        print(f"fold {k}: n {len(y_test)}, errors {row}, chosen k {n}, weight {w}, blend recall {recall}", flush=True)
        for key, value in row.items():
            totals[key] += value
        totals["n"] += len(y_test)
    print("all:", totals)


if __name__ == "__main__":
    main([int(k) for k in sys.argv[1:] if k.isdigit()])
