"""Cross-validated estimates (`benchmark cv`): duplicate-grouped, stratified folds. For each fold the recipe
trains on the rest (less an inner split), fits the temperature and the refusal thresholds on that inner split
only, and is measured on the fold through the clinic's own checks and gate: figures a new hospital can expect,
not ones measured on the split that chose them.

Each fold's model and arrays are kept under ``<run_dir>/cv/<key>/`` so a killed run resumes at the fold it
was on, and a changed gate is re-measured without retraining (``--reuse``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np

from engine.classes import CLASSES
from engine.errors import InputError
from engine.hdfs.storage import Storage
from engine.ml.config import TrainConfig
from engine.progress import ProgressFn, no_progress
from engine.settings import Settings
from engine.textutil import write_json_atomic

logger = logging.getLogger(__name__)


def cv_folder(settings: Settings, config: TrainConfig, folds: int) -> Path:
    recipe = {k: v for k, v in dataclasses.asdict(config).items() if k not in ("threads",)}
    key = hashlib.sha256(json.dumps({"recipe": recipe, "folds": folds}, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return settings.run_dir / "cv" / f"{config.dataset}-{config.size}px-{folds}folds-{key}"


def run_cv(
    settings: Settings,
    storage: Storage,
    config: TrainConfig,
    folds: int = 5,
    on_progress: ProgressFn = no_progress,
    max_folds: int = 0,
    fold: int = 0,
    earlier: dict | None = None,
) -> dict:
    """Train and measure one model per fold; the figures of :func:`engine.bench.cv_report.summarise`.

    ``max_folds`` stops after that many folds (0: all): the figures are then marked incomplete, and a later run
    with the same recipe picks up where this one stopped. ``fold`` runs that fold only (1-based), so folds can
    be spread over machines; ``earlier`` (a result of the same recipe) adds the folds this run did not measure.
    """
    from engine.bench.cv_report import fold_report, merge_folds, screen_dataset, summarise
    from engine.data.not_brain_mri import not_brain_mri
    from engine.ml.layout import layout_stats
    from engine.ml.splits import fold_indices, inner_split
    from engine.ml.training import read_training_data

    config.validate()
    merge_folds([], earlier, config, folds)  # an earlier result of another recipe fails now, not after an hour of training
    folder = cv_folder(settings, config, folds)
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "config.json", dataclasses.asdict(config))
    on_progress(0, folds * config.epochs, "reading prepared images from HDFS")
    x, y, paths, manifest = read_training_data(storage, config)
    screened = screen_dataset(storage, config.dataset, paths)
    layout = layout_stats(x)
    looks = _looks(x)
    not_mri = not_brain_mri(manifest, paths)
    rows, tests = [], fold_indices(manifest, paths, y, folds, config.seed)
    if fold and not 1 <= fold <= folds:
        raise InputError(f"--fold must be between 1 and {folds}.")
    chosen = [fold - 1] if fold else range(max_folds or folds)
    for k in chosen:
        test_idx = tests[k]
        train_idx, val_idx = inner_split(manifest, paths, y, test_idx, config.val_fraction, config.seed)
        arrays = _fold_arrays(folder / f"fold-{k + 1}", config, (x, y), (train_idx, val_idx, test_idx), k, folds, on_progress)
        parts = (("train", train_idx), ("val", val_idx), ("test", test_idx))
        layouts, looked = {part: layout[idx] for part, idx in parts}, {part: looks[idx] for part, idx in parts}
        check = _check_rows(folder / f"fold-{k + 1}", x, (train_idx, val_idx, test_idx), not_mri)
        listed = {"train": not_mri[train_idx], "val": not_mri[val_idx], "test": not_mri[test_idx]}
        rows.append({"fold": k + 1, **fold_report(arrays, screened[test_idx], layouts, check, listed, looked)})
        flipped = _shipped_reading(folder / f"fold-{k + 1}", x, arrays, (train_idx, val_idx, test_idx), looks[:, 1], not_mri)
        if flipped is not None:  # the same fold read as the shipped model reads (test-time flip, lifted dark scans)
            rows[-1]["test_time_flip"] = fold_report({**arrays, **flipped}, screened[test_idx], layouts, check, listed, looked)
        logger.info("fold %d: accuracy %.4f, refused %.4f", k + 1, rows[-1]["accuracy"], rows[-1]["refused"]["overall"])
        write_json_atomic(folder / "result.json", summarise(merge_folds(rows, earlier, config, folds), config, folds, str(folder)))  # so far
    result = summarise(merge_folds(rows, earlier, config, folds), config, folds, str(folder))
    if result["complete"]:
        from engine.bench.preprocess import save_benchmark

        save_benchmark(settings, storage, result)
    return result


def _looks(x: np.ndarray) -> np.ndarray:
    """(n, 3): each scan's content span, brightness and bone-ring share, what the gate's framing, darkness and
    CT-bone tests read; NaN for an all-dark scan."""
    from engine.data.bone_ring import bone_ring_of
    from engine.data.exposure import brightness_of
    from engine.data.framing import content_span

    spans = np.array([np.nan if (s := content_span(scan)) is None else s for scan in x])
    return np.stack([spans, brightness_of(x), bone_ring_of(x)], axis=1)


def _fold_arrays(folder: Path, config: TrainConfig, data, split, k: int, folds: int, on_progress: ProgressFn) -> dict:
    """The fold's logits and features (test, inner validation, inner training): from disk, else trained now."""
    cached = folder / "arrays.npz"
    if cached.exists():
        on_progress((k + 1) * config.epochs, folds * config.epochs, f"fold {k + 1} of {folds}: reused")
        return dict(np.load(cached))
    x, y = data
    train_idx, val_idx, test_idx = split
    model, seconds = _train_fold(folder, config, x, y, train_idx, val_idx, k, folds, on_progress)
    from engine.ml.explainer import Explainer

    explainer = Explainer(model)

    def run(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        outs = [explainer(x[idx[i : i + 128]]) for i in range(0, len(idx), 128)]
        return np.concatenate([o[1] for o in outs]), np.concatenate([o[2] for o in outs])

    arrays = {"test_idx": test_idx, "y_test": y[test_idx], "y_val": y[val_idx], "y_train": y[train_idx], "train_seconds": np.array(seconds)}
    for part, idx in (("test", test_idx), ("val", val_idx), ("train", train_idx)):
        arrays[f"feats_{part}"], arrays[f"logits_{part}"] = run(idx)
    np.savez(folder / "arrays.tmp.npz", **arrays)
    (folder / "arrays.tmp.npz").replace(cached)
    return arrays


def _check_rows(folder: Path, x: np.ndarray, split, not_mri: np.ndarray) -> dict | None:
    """What the fold's brain-MRI check (:mod:`engine.ml.mri_check`) is fitted from, and its inputs for the test
    scans, computed with the fold's model: from disk, else now (None: no trained model in the folder). The
    dataset's images that are not brain MRI (``not_mri``) outside the fold are learnt as negatives; those inside
    it are tested like every scan of the fold."""
    from engine.data.negatives import library_digest
    from engine.data.not_brain_mri import list_digest

    cached = folder / "check.npz"
    library = library_digest()
    if cached.exists():
        rows = dict(np.load(cached))
        if str(rows.get("not_mri_list", "")) == list_digest() and str(rows.get("library", "")) == library:  # else fitted from other negatives: again
            return rows
    if not (folder / "checkpoint.keras").exists():
        return None
    import keras

    from engine.ml.mri_check import check_rows, inputs, threshold_half
    from engine.ml.ood import features_of

    train_idx, val_idx, test_idx = split
    run = features_of(keras.models.load_model(folder / "checkpoint.keras"))
    half = threshold_half([str(i) for i in val_idx])  # the same rule as the shipped check: half the inner split
    rows = check_rows(run, x[train_idx], x[val_idx], not_mri=(not_mri[train_idx], not_mri[val_idx]), in_threshold=half)
    rows["test"] = inputs(run(x[test_idx]), x[test_idx])
    rows["not_mri_list"] = np.array(list_digest())
    rows["library"] = np.array(library)
    np.savez(folder / "check.tmp.npz", **rows)
    (folder / "check.tmp.npz").replace(cached)
    return rows


def _shipped_reading(folder: Path, x: np.ndarray, arrays: dict, split, brightness: np.ndarray, not_mri: np.ndarray) -> dict | None:
    """The fold's inner-validation and test logits read as the shipped model reads: in a thin black rim and
    averaged with their mirror images' (:mod:`engine.ml.test_time`), and those of a scan darker than the fold's
    line averaged with a second, lifted reading (:mod:`engine.data.exposure`; line and target fitted on the fold's
    inner training scans). From disk, else computed with the fold's model (None: neither)."""
    _, val_idx, test_idx = split
    flipped = _flipped_logits(folder, x, arrays, val_idx, test_idx)
    return None if flipped is None else _lifted_logits(folder, x, flipped, split, brightness, not_mri)


def _lifted_logits(folder: Path, x: np.ndarray, flipped: dict, split, brightness: np.ndarray, not_mri: np.ndarray) -> dict:
    from engine.data.exposure import dark_and_lifted, fit_exposure

    train_idx, val_idx, test_idx = split
    stats = fit_exposure(brightness[train_idx][~not_mri[train_idx]])
    cached = folder / f"lifted{_reading_tag()}.npz"
    if cached.exists() and np.isclose(float(np.load(cached)["dark_below"]), stats["dark_below"]):
        return {part: v for part, v in np.load(cached).items() if part.startswith("logits_")}
    if not (folder / "checkpoint.keras").exists():
        logger.warning("no model in %s: its folds are read with flip alone, dark scans not read twice", folder)
        return flipped
    import keras

    from engine.ml.test_time import RIM_SCALE, keras_logits, read_logits

    logits_of = keras_logits(keras.models.load_model(folder / "checkpoint.keras"))
    rows = {}
    for part, idx in (("val", val_idx), ("test", test_idx)):
        rows[f"logits_{part}"] = flipped[f"logits_{part}"].copy()
        dark, lifted = dark_and_lifted(x[idx], brightness[idx], stats)
        if dark.any():
            rows[f"logits_{part}"][dark] = (rows[f"logits_{part}"][dark] + read_logits(logits_of, lifted, True, RIM_SCALE)) / 2
    np.savez(folder / "lifted.tmp.npz", **rows, dark_below=np.array(stats["dark_below"]))
    (folder / "lifted.tmp.npz").replace(cached)
    return rows


def _reading_tag() -> str:
    """The cache files' suffix for the shipped reading's rim ("" for none: the files of runs before the rim)."""
    from engine.ml.test_time import RIM_SCALE

    return "" if RIM_SCALE >= 1.0 else f"-rim{RIM_SCALE:g}"


def _flipped_logits(folder: Path, x: np.ndarray, arrays: dict, val_idx, test_idx) -> dict | None:
    """The fold's inner-validation and test logits in a thin black rim, averaged with their mirror images'
    (:mod:`engine.ml.test_time`), computed with the fold's model: from disk, else now (None: no trained model)."""
    cached = folder / f"flip{_reading_tag()}.npz"
    if cached.exists():
        return dict(np.load(cached))
    if not (folder / "checkpoint.keras").exists():
        return None
    import keras

    from engine.ml.test_time import RIM_SCALE, keras_logits, read_logits

    logits_of = keras_logits(keras.models.load_model(folder / "checkpoint.keras"))
    rows = {f"logits_{part}": read_logits(logits_of, x[idx], True, RIM_SCALE) for part, idx in (("val", val_idx), ("test", test_idx))}
    np.savez(folder / "flip.tmp.npz", **rows)
    (folder / "flip.tmp.npz").replace(cached)
    return rows


def _train_fold(folder: Path, config: TrainConfig, x, y, train_idx, val_idx, k: int, folds: int, on_progress: ProgressFn):
    """The fold's model: the recipe trained on ``train_idx`` with plain Keras (the same loop as `train`)."""
    import keras

    from engine.ml.fit import EpochReporter, fit_local
    from engine.ml.tfsetup import import_tensorflow
    from engine.ml.training import build_model

    tf = import_tensorflow(config.threads or None)
    folder.mkdir(parents=True, exist_ok=True)
    state = json.loads((folder / "state.json").read_text()) if (folder / "state.json").exists() else {}
    start = int(state.get("epoch", 0)) if (folder / "checkpoint.keras").exists() else 0
    if start:  # a killed run resumes at the fold's last finished epoch (EpochReporter checkpoints each one)
        model = keras.models.load_model(folder / "checkpoint.keras")
        logger.info("fold %d resumes at epoch %d", k + 1, start)
    else:
        (folder / "history.jsonl").write_text("")
        keras.utils.set_random_seed(config.seed + k)
        model = build_model(config)

    def progress(done: int, total: int, message: str) -> None:
        on_progress(k * config.epochs + done, folds * config.epochs, f"fold {k + 1} of {folds}, {message}")

    t0 = time.monotonic()
    y_onehot = np.eye(len(CLASSES), dtype=np.float32)[y]
    fit_local(tf, model, x, y_onehot, train_idx, val_idx, config, start, EpochReporter(folder, config, progress))
    history = [json.loads(line) for line in (folder / "history.jsonl").read_text().splitlines() if line.strip()]
    return model, sum(row.get("seconds", 0) for row in history) or time.monotonic() - t0


def saved_results(settings: Settings, storage: Storage | None) -> list[dict]:
    """This machine's cross-validations, newest first: finished ones (saved like every benchmark) and, marked
    incomplete, the folds so far of any that stopped or still runs."""
    from engine.bench.preprocess import list_benchmarks

    found = list_benchmarks(settings, storage, kind="cv")
    finished = {r.get("folder") for r in found}
    for path in (settings.run_dir / "cv").glob("*/result.json"):
        try:
            partial = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not partial.get("complete") and partial.get("folder") not in finished:
            found.append(partial)
    return sorted(found, key=lambda r: r.get("created", ""), reverse=True)


def attach_to_card(settings: Settings, storage: Storage, model_id: str) -> dict:
    """Write the newest cross-validation of a model's dataset at its input size into its card (``cross_validation``),
    where its intended use reads it; the card's HDFS copy too. The model file is untouched, so its seal holds."""
    from engine.errors import NotFoundError
    from engine.ml import registry
    from engine.ml.intended_use import summarise_cv

    folder = registry.fetch(settings, storage, registry.check_model_id(model_id))
    card = registry.read_card(folder)
    dataset, size, epochs = card["training"]["dataset"], int(card["input"]["size"]), card["training"].get("epochs")
    # Only the model's own recipe: a cross-validation of another (a longer schedule being measured) says nothing of it.
    found = [
        r
        for r in saved_results(settings, storage)
        if r.get("dataset") == dataset and r["recipe"]["size"] == size and (epochs is None or r["recipe"].get("epochs") == epochs)
    ]
    if not found:
        raise NotFoundError(
            f"No cross-validation of {dataset} at {size} px{f' and {epochs} epochs' if epochs else ''} yet; "
            f"run `python -m engine benchmark cv {dataset} --size {size}{f' --epochs {epochs}' if epochs else ''}` first."
        )
    card["cross_validation"] = summarise_cv(found[0], flip=bool(card["input"].get("test_time_flip")))
    registry.write_card(storage, folder, card)
    return card["cross_validation"]
