"""The framing shortcut, measured on cross-validation folds (docs/model.md, "Framing: two cures measured").

    .venv/bin/python -m engine benchmark cv kaggle-train --folds 5 --size 128 --fold 2 --augmentation framing
    PYTHONPATH=. .venv/bin/python docs/experiments/framing.py train 2    # framing-normalised inputs, fold 2
    PYTHONPATH=. .venv/bin/python docs/experiments/framing.py compare 2  # the three fold models under upload shifts

``train`` runs `benchmark cv`'s standard recipe on inputs cut to a square around their content (the median
training margin), so the framing no longer tells the classes apart; its folds go under /tmp/framing-run, away
from the cached ones. ``compare`` reads 75 test scans per class of the fold, each under eight upload shifts,
through the clinic's decoding, with each model (test-time flip, classifier alone, no gate).
An experiment, not a feature: the normalisation is applied to the 128 px prepared images here, in training and
at test alike; shipping it would move it into preprocessing and the clinic at full resolution.
"""

import dataclasses
import glob
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from engine.data.framing import TARGET_SPAN, _square, content_box
from engine.data.pixels import prepare_pil

RUN_DIR = Path("/tmp/framing-run")
CV = Path(".run/cv")
SHIFTS = [
    "none (PNG)",
    "zoom out (25% black padding)",
    "gamma 1.5",
    "gamma 0.6",
    "crop 80% centred",
    "contrast 0.6",
    "16:9 viewer screenshot (black bars)",
    "rotate 15°",
]


def normalise(x: np.ndarray) -> np.ndarray:
    """Prepared 128 px scans (n, 128, 128, 1), each cut to a square around its content and prepared again."""
    out = []
    for a in x:
        img = Image.fromarray(a[..., 0])
        box = content_box(img)
        if box is not None:
            img = _square(img, box, max(box[2] - box[0], box[3] - box[1]) / TARGET_SPAN)
        out.append(prepare_pil(img, a.shape[0]))
    return np.stack(out)


def train(fold: int) -> None:
    import engine.bench.cv as cv
    import engine.ml.training as training
    from engine.hdfs.storage import Storage
    from engine.ml.config import TrainConfig
    from engine.settings import load_settings

    original = training.read_training_data
    training.read_training_data = lambda storage, config: (normalise((r := original(storage, config))[0]), *r[1:])
    settings = dataclasses.replace(load_settings(), run_dir=RUN_DIR)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    result = cv.run_cv(settings, Storage(settings), TrainConfig(dataset="kaggle-train", size=128), folds=5, fold=fold)
    print(json.dumps(result["folds"], indent=1))


def compare(fold: int, per_class: int = 75) -> None:
    import keras

    from engine.classes import CLASSES
    from engine.clinic.classify import read_uploads
    from engine.data.shifts import SHIFTS as MAKE
    from engine.hdfs.storage import Storage
    from engine.ml.config import TrainConfig
    from engine.ml.splits import fold_indices
    from engine.ml.test_time import flip_averaged, keras_logits
    from engine.ml.training import read_training_data
    from engine.settings import load_settings

    config = TrainConfig(dataset="kaggle-train", size=128).validate()
    x, y, paths, manifest = read_training_data(Storage(load_settings()), config)
    test = fold_indices(manifest, paths, y, 5, config.seed)[fold - 1]
    rng = np.random.default_rng(7)
    pick = np.concatenate([rng.permutation(test[y[test] == c])[:per_class] for c in range(len(CLASSES))])
    root = Path("../shared/data/brain-tumor-mri/Training")
    plain = {n: [] for n in SHIFTS}
    for i in pick:
        grey = Image.open(root / Path(paths[i]).parent.name / Path(paths[i]).name).convert("L")
        uploads = [(n, MAKE[n](grey)) for n in SHIFTS]
        for (n, _), answer in zip(uploads, read_uploads(uploads)):
            plain[n].append(prepare_pil(answer.grey, 128))
    folder = f"fold-{fold}/checkpoint.keras"
    models = {
        "standard": (glob.glob(str(CV / "kaggle-train-128px-5folds-74f2362c28" / folder)), False),
        "zoom-out augmentation": (glob.glob(str(CV / "kaggle-train-128px-5folds-f49bc328fe" / folder)), False),
        "normalised framing": (glob.glob(str(RUN_DIR / "cv" / "*" / folder)), True),
    }
    print(f"{'shift':40s}" + "".join(f"{name:>24s}" for name in models))
    table = {n: {} for n in SHIFTS}
    for name, (found, normalised) in models.items():
        if not found:
            continue
        logits_of = keras_logits(keras.models.load_model(found[0]))
        for n in SHIFTS:
            batch = np.stack(plain[n]).astype(np.uint8)
            batch = normalise(batch) if normalised else batch
            table[n][name] = float((flip_averaged(logits_of, batch).argmax(1) == y[pick]).mean())
    for n in SHIFTS:
        print(f"{n:40s}" + "".join(f"{table[n].get(name, float('nan')):>24.3f}" for name in models))


if __name__ == "__main__":
    {"train": train, "compare": compare}[sys.argv[1]](int(sys.argv[2]))
