"""Accuracy levers of #12 measured on all five cross-validation folds at once, on a borrowed GPU.

The folds, inner splits and pixels are exactly those of `benchmark cv` (exported by `gpu_cv_export.py`); each
recipe is the shipped one (`engine.ml.models.build_compact`, the `train` schedule of `engine.ml.phases`, AdamW,
label smoothing 0.05, 30 epochs, batch 32, seed 42 + fold) with one or two knobs changed. Keras runs on its
PyTorch backend there (the GPU machine has PyTorch, not TensorFlow); the network, augmentation and schedule are
the same Keras code. Every (recipe, fold) is a process of its own; jobs run fold by fold, so at the deadline
every recipe has the same folds done and the comparison stays paired.

Each job saves its fold's test and inner-validation logits, read once and as the shipped model reads (in the
thin black rim, averaged with the mirror image: `engine.ml.test_time`). Out: results.npz, summary.json, log.txt
and the fold models of the most accurate shippable recipe that all folds finished (RECIPE-fold-K.keras).

    KERAS_BACKEND=torch python docs/experiments/gpu_cv.py .gpu OUT --deadline 480 --workers 12
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import gpu_jobs  # docs/experiments/gpu_jobs.py, beside this script
import numpy as np

RECIPES = {
    "base": {},
    "base-seed2": {"seed_offset": 100},
    "epochs60": {"epochs": 60},
    "width1.5": {"width": 1.5},
    "width2": {"width": 2.0},
    "mixup60": {"epochs": 60, "mixup": 0.2},
    "width1.5-epochs60": {"width": 1.5, "epochs": 60},
}


def train_job(data: Path, work: Path, recipe: str, fold: int, epochs_cap: int) -> None:
    """Train one recipe on one fold's inner training scans; save logits and the slim model."""
    import keras

    from engine.ml import phases
    from engine.ml.config import TrainConfig
    from engine.ml.models import build_compact
    from engine.ml.test_time import RIM_SCALE, rimmed

    knobs = RECIPES[recipe]
    config = TrainConfig(dataset="cv", epochs=min(knobs.get("epochs", 30), epochs_cap or 10**6)).validate()
    seed = config.seed + knobs.get("seed_offset", 0)
    splits = np.load(data / "splits.npz")
    x, y = gpu_jobs.load_x(data), splits["y"]
    train_idx, val_idx, test_idx = (splits[f"{part}_{fold}"] for part in ("train", "val", "test"))
    if epochs_cap:  # a smoke test: a few scans only
        train_idx, val_idx, test_idx = train_idx[:96], val_idx[:32], test_idx[:32]
    keras.utils.set_random_seed(seed + fold - 1)
    model = build_compact(config.size, 1, seed=seed, width=knobs.get("width", 1.0))
    steps = int(np.ceil(len(train_idx) / config.batch_size))
    span = phases.spans(config)[0]
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=phases.keras_schedule(config, span, steps), weight_decay=config.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    onehot = np.eye(4, dtype=np.float32)[y]
    x_train = np.asarray(x[train_idx], dtype=np.float32)
    t0 = time.monotonic()
    if knobs.get("mixup"):
        history = model.fit(mixup_batches(x_train, onehot[train_idx], config.batch_size, knobs["mixup"], seed + fold), epochs=config.epochs, verbose=0)
    else:
        history = model.fit(x_train, onehot[train_idx], batch_size=config.batch_size, epochs=config.epochs, shuffle=True, verbose=0)
    seconds = time.monotonic() - t0

    def logits(batch: np.ndarray) -> np.ndarray:
        return model.predict(np.asarray(batch, dtype=np.float32), batch_size=256, verbose=0)

    out = {"seconds": np.array(seconds), "train_accuracy": np.array(history.history["accuracy"])}
    for part, idx in (("test", test_idx), ("val", val_idx)):
        scans = np.asarray(x[idx])
        framed = rimmed(scans, RIM_SCALE)
        out[f"plain_{part}"] = logits(scans)
        out[f"read_{part}"] = (logits(framed) + logits(np.ascontiguousarray(framed[:, :, ::-1]))) / 2
        out[f"y_{part}"], out[f"idx_{part}"] = y[idx], idx
    folder = work / recipe / f"fold-{fold}"
    folder.mkdir(parents=True, exist_ok=True)
    slim = build_compact(config.size, 1, seed=seed, width=knobs.get("width", 1.0))  # never compiled: loads under TensorFlow too
    slim.set_weights(model.get_weights())
    slim.save(folder / "model.keras")
    np.savez(folder / "result.npz", **out)


def mixup_batches(x: np.ndarray, y: np.ndarray, batch: int, alpha: float, seed: int):
    """A Keras PyDataset of pairs of scans blended by a Beta(alpha, alpha) share, their labels blended alike; the
    first scan of a pair always dominates, so its augmentation stays the main view."""
    import keras

    rng = np.random.default_rng(seed)

    class Batches(keras.utils.PyDataset):
        order = rng.permutation(len(x))

        def __len__(self):
            return int(np.ceil(len(x) / batch))

        def __getitem__(self, i):
            idx = self.order[i * batch : (i + 1) * batch]
            other = rng.permutation(idx)
            lam = rng.beta(alpha, alpha, size=len(idx)).astype(np.float32)
            lam = np.maximum(lam, 1 - lam)
            return lam[:, None, None, None] * x[idx] + (1 - lam[:, None, None, None]) * x[other], lam[:, None] * y[idx] + (1 - lam[:, None]) * y[other]

        def on_epoch_end(self):
            self.order = rng.permutation(len(x))

    return Batches()


def pack(work: Path, out: Path, say) -> None:
    gpu_jobs.pack_results(work, out)
    summary = {}
    for recipe_dir in sorted(p for p in work.iterdir() if p.is_dir()):
        folds = sorted(recipe_dir.glob("fold-*/result.npz"))
        rows = {f.parent.name: np.load(f) for f in folds}
        summary[recipe_dir.name] = {
            fold: {
                "n": int(len(r["y_test"])),
                "errors_plain": int((r["plain_test"].argmax(1) != r["y_test"]).sum()),
                "errors_read": int((r["read_test"].argmax(1) != r["y_test"]).sum()),
                "seconds": round(float(r["seconds"]), 1),
                "last_train_accuracy": round(float(r["train_accuracy"][-1]), 4),
            }
            for fold, r in rows.items()
        }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    say(json.dumps(summary))
    shippable = {r: rows for r, rows in summary.items() if len(rows) == 5 and RECIPES[r].get("width", 1.0) <= 1.5}  # <= 20 MB
    if shippable:
        best = min(shippable, key=lambda r: sum(v["errors_read"] for v in shippable[r].values()))
        for k in range(1, 6):  # one file each: what comes back is at most 16 MB a file
            shutil.copy(work / best / f"fold-{k}" / "model.keras", out / f"{best}-fold-{k}.keras")
        say(f"fold models of {best} copied")


def main() -> None:
    args = gpu_jobs.arguments(RECIPES, deadline=480, workers=12)
    work = Path("/tmp/gpu-cv")
    if args.job:
        import torch

        torch.set_num_threads(1)
        train_job(args.data, work, args.job[0], int(args.job[1]), args.epochs_cap)
    else:  # fold by fold: at the deadline every recipe has the same folds done, so the comparison stays paired
        say = gpu_jobs.run_jobs(__file__, args, [(r, k) for k in args.folds for r in args.recipes], {"KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "torch")})
        work.mkdir(parents=True, exist_ok=True)
        pack(work, args.out, say)


if __name__ == "__main__":
    main()
