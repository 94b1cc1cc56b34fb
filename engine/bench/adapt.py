"""What transfer buys: a learning curve of a model trained from scratch against one adapted from a model that
never saw the held-out part, at a few labelled scans per class.

The dataset is cut by duplicate groups (stratified): a *starting model* trains on one part, as a model trained
elsewhere would; the other part stands in for a hospital's own scans and is cut again into a pool (the
labelled scans the hospital could give, ``per_class`` of each class drawn from it) and a test set neither
side ever trains on. Both sides use the same epochs, batch and augmentation; only the start differs.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from engine.classes import CLASSES
from engine.data import datasets, duplicates
from engine.data.preprocess import read_prepared
from engine.errors import InputError
from engine.hdfs.storage import Storage
from engine.ml.calibration import calibrated_probabilities
from engine.ml.config import TrainConfig
from engine.ml.fit import fit_phases
from engine.ml.metrics import classification_report
from engine.ml.models import build_compact
from engine.ml.tfsetup import import_tensorflow
from engine.progress import ProgressFn, no_progress
from engine.settings import Settings

logger = logging.getLogger(__name__)


def split_parts(manifest, paths: list[str], y: np.ndarray, holdout: float, seed: int):
    """(start, pool, test) index arrays: duplicate groups never straddle two parts, each part has every class."""
    from sklearn.model_selection import StratifiedGroupKFold

    frame = manifest.set_index("path").loc[paths].reset_index()
    groups = duplicates.duplicate_groups(frame)
    outer = StratifiedGroupKFold(n_splits=max(2, round(1 / holdout)), shuffle=True, random_state=seed)
    start, held = next(outer.split(np.zeros(len(y)), y, groups))
    inner = StratifiedGroupKFold(n_splits=2, shuffle=True, random_state=seed)
    pool, test = next(inner.split(np.zeros(len(held)), y[held], np.asarray(groups)[held]))
    return start, held[pool], held[test]


def draw(pool: np.ndarray, y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """``per_class`` scans of each class from the pool (all of a class when it has fewer), seeded."""
    rng = np.random.default_rng(seed + per_class)
    chosen = [rng.permutation(pool[y[pool] == c])[:per_class] for c in range(len(CLASSES))]
    return np.concatenate(chosen)


def _fit(tf, model, config: TrainConfig, x, y, idx: np.ndarray) -> None:
    """Keras fit on ``idx``, phase by phase (no validation split: the test part measures)."""
    onehot = np.eye(len(CLASSES), dtype=np.float32)[y[idx]]
    data = tf.data.Dataset.from_tensor_slices((x[idx], onehot)).shuffle(len(idx), seed=config.seed).batch(config.batch_size)
    fit_phases(model, config, data, steps=int(np.ceil(len(idx) / config.batch_size)))


def _accuracy(model, x, y, idx: np.ndarray) -> dict:
    logits = model.predict(x[idx], batch_size=128, verbose=0)
    report = classification_report(y[idx], calibrated_probabilities(logits, 1.0))
    return {"accuracy": report["accuracy"], "recall": {c: report["per_class"][c]["recall"] for c in CLASSES}}


def benchmark_adapt(
    settings: Settings,
    storage: Storage,
    name: str,
    per_class: list[int],
    size: int = 128,
    epochs: int = 20,
    base_epochs: int = 10,
    freeze_epochs: int = 2,
    holdout: float = 0.3,
    seed: int = 42,
    save: bool = True,
    on_progress: ProgressFn = no_progress,
) -> dict:
    """Accuracy on the test part for scratch and adapted training at each ``per_class``; see the module docstring."""
    from engine.bench.preprocess import save_benchmark

    _check(per_class, holdout, epochs, freeze_epochs, base_epochs)
    tf = import_tensorflow()
    import keras

    plan = len(per_class) * 2 + 1
    on_progress(0, plan, "reading prepared images from HDFS")
    x, y, paths = read_prepared(storage, name, size)
    start, pool, test = split_parts(datasets.read_manifest(storage, name), paths, y, holdout, seed)
    keras.utils.set_random_seed(seed)
    base_config = TrainConfig(dataset=name, size=size, epochs=base_epochs, seed=seed).validate()
    t0 = time.perf_counter()
    starting = build_compact(size, 1, seed=seed)
    _fit(tf, starting, base_config, x, y, start)
    base_seconds = time.perf_counter() - t0
    baseline = _accuracy(starting, x, y, test)
    on_progress(1, plan, f"starting model: {baseline['accuracy']:.3f} on the test part")

    runs = []
    for n in per_class:
        chosen = draw(pool, y, n, seed)
        for method in ("scratch", "adapted"):
            runs.append({"per_class": n, **_learning_run(tf, starting, method, name, (x, y), chosen, test, size, epochs, freeze_epochs, seed)})
            on_progress(len(runs) + 1, plan, f"{method}, {n} per class: accuracy {runs[-1]['accuracy']:.3f}")
    result = {
        "kind": "adapt",
        "dataset": name,
        "images": int(len(y)),
        "size": size,
        "per_class": per_class,
        "epochs": epochs,
        "freeze_epochs": freeze_epochs,
        "seed": seed,
        "parts": {"starting_model": int(len(start)), "pool": int(len(pool)), "test": int(len(test))},
        "starting_model": {"epochs": base_epochs, "seconds": round(base_seconds, 1), **baseline},
        "runs": runs,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if save:
        save_benchmark(settings, storage, result)
    return result


def _check(per_class: list[int], holdout: float, epochs: int, freeze_epochs: int, base_epochs: int) -> None:
    if not per_class or min(per_class) < 1:
        raise InputError("--per-class needs one or more counts of at least 1, e.g. 10,25,50,100.")
    if not 0.1 <= holdout <= 0.7:
        raise InputError(f"--holdout {holdout} must be between 0.1 and 0.7 (the share the starting model never sees).")
    if epochs <= freeze_epochs or base_epochs < 1:
        raise InputError("--epochs must exceed --freeze-epochs (head first, then all layers), and --base-epochs be at least 1.")


def _learning_run(tf, starting, method: str, name: str, data, chosen, test, size: int, epochs: int, freeze_epochs: int, seed: int) -> dict:
    """One point of the curve: train from scratch, or adapt a copy of the starting model, on ``chosen``."""
    import keras

    x, y = data
    keras.utils.set_random_seed(seed)
    if method == "scratch":
        model, config = build_compact(size, 1, seed=seed), TrainConfig(dataset=name, size=size, epochs=epochs, seed=seed)
    else:
        model = keras.models.clone_model(starting)
        model.set_weights(starting.get_weights())
        config = TrainConfig(dataset=name, size=size, epochs=epochs, seed=seed, init_from="starting-model", freeze_epochs=freeze_epochs)
    t1 = time.perf_counter()
    _fit(tf, model, config.validate(), x, y, chosen)
    seconds = time.perf_counter() - t1
    return {"method": method, "images": int(len(chosen)), "seconds": round(seconds, 1), **_accuracy(model, x, y, test)}


def plain_reading(result: dict) -> str:
    """The learning curve in two sentences a student can repeat."""
    by = {(r["per_class"], r["method"]): r["accuracy"] for r in result["runs"]}
    smallest, largest = min(result["per_class"]), max(result["per_class"])
    gap = by[(smallest, "adapted")] - by[(smallest, "scratch")]
    text = (
        f"With {smallest} labelled scans per class, the adapted model scored {by[(smallest, 'adapted')]:.1%} on "
        f"{result['parts']['test']:,} scans neither side trained on, and the one trained from scratch "
        f"{by[(smallest, 'scratch')]:.1%}: transfer bought {gap * 100:+.1f} points. "
    )
    gap_large = by[(largest, "adapted")] - by[(largest, "scratch")]
    start = result["starting_model"]["accuracy"]
    text += f"At {largest} per class the gap is {gap_large * 100:+.1f} points; the starting model alone, before any adaptation, scored {start:.1%}."
    if max(by[(n, "adapted")] for n in result["per_class"]) <= start:
        text += (
            " Adapting did not beat the starting model here: the held-out scans come from the same collection it "
            "learnt from, so there was no shift to adapt to. The curve shows what a trained start is worth when "
            "labelled scans are few."
        )
    return text
