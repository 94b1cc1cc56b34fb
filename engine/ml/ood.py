"""Out-of-distribution statistics: Mahalanobis distance of a model's penultimate features to the class means,
with the refusal threshold fitted on real held-out scans; fitted after training or again for a registered model."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from engine.data import datasets
from engine.data.not_brain_mri import not_brain_mri
from engine.data.preprocess import read_prepared
from engine.hdfs.storage import Storage
from engine.ml import registry
from engine.ml.explainer import Explainer
from engine.ml.inference import load_model
from engine.ml.layout import fit_layout, layout_stats
from engine.ml.runs import run_dir
from engine.ml.splits import split_indices
from engine.settings import Settings

OOD_FILE = "ood.json"
OOD_QUANTILE = 0.995  # flag for review beyond the distance that 99.5% of held-out real scans stay within
# Refuse only well beyond every held-out real scan: unusual real scans (meningiomas seen from an odd angle) reach
# 1.4x the review threshold, and a refusal costs the clinician the answer (engine.clinic.gate).
REFUSE_FACTOR = 1.5

logger = logging.getLogger(__name__)


def fit_ood(features_train: np.ndarray, labels_train: np.ndarray, features_heldout: np.ndarray, quantile: float = OOD_QUANTILE) -> dict:
    """Class means and a shared, shrunk covariance of training features; the threshold from held-out real scans."""
    classes = np.unique(labels_train)
    means = np.stack([features_train[labels_train == c].mean(axis=0) for c in classes])
    centred = features_train - means[np.searchsorted(classes, labels_train)]
    cov = np.cov(centred, rowvar=False)
    cov = 0.9 * cov + 0.1 * np.trace(cov) / len(cov) * np.eye(len(cov))  # shrinkage: stable with few samples per dim
    precision = np.linalg.inv(cov)
    heldout = mahalanobis(features_heldout, means, precision)
    return {
        "means": means.tolist(),
        "precision": precision.tolist(),
        "threshold": float(np.quantile(heldout, quantile)),
        "refuse_threshold": float(max(REFUSE_FACTOR * np.quantile(heldout, quantile), 1.05 * heldout.max())),
        "quantile": quantile,
        "heldout_median": float(np.median(heldout)),
    }


def mahalanobis(features: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Distance to the nearest class mean under the shared covariance."""
    diffs = features[:, None, :] - means[None, :, :]
    d2 = np.einsum("nkd,de,nke->nk", diffs, precision, diffs)
    return np.sqrt(np.maximum(d2.min(axis=1), 0))


def save_ood(folder: Path, stats: dict) -> None:
    (folder / OOD_FILE).write_text(json.dumps(stats))


def load_ood(folder: Path) -> dict | None:
    path = folder / OOD_FILE
    if not path.exists():
        return None
    stats = json.loads(path.read_text())
    stats["means"] = np.asarray(stats["means"])
    stats["precision"] = np.asarray(stats["precision"])
    if stats.get("mri_check"):
        from engine.ml.mri_check import with_arrays

        stats["mri_check"] = with_arrays(stats["mri_check"])
    return stats


def features_of(model):
    """A function of prepared images to the model's penultimate features (the Explainer's, without its
    gradient), compiled once."""
    import keras
    import tensorflow as tf

    graph = keras.Model(model.inputs, Explainer.pooling(model).output)
    forward = tf.function(lambda x: graph(x, training=False), reduce_retracing=True)

    def run(x: np.ndarray, batch: int = 128) -> np.ndarray:
        if not len(x):
            return np.zeros((0, graph.output.shape[-1]), dtype=np.float32)
        return np.concatenate([forward(tf.convert_to_tensor(x[i : i + batch])).numpy() for i in range(0, len(x), batch)])

    return run


def fit_for_arrays(model, x_train, y_train, x_heldout, heldout_paths: list[str] | None = None, not_mri: tuple | None = None) -> dict:
    """The feature-distance statistics and, beside them, the layout statistics (:mod:`engine.ml.layout`), the
    darkness flag line (:mod:`engine.data.exposure`) and the brain-MRI check (:mod:`engine.ml.mri_check`), whose
    threshold comes from one half of the held-out scans.
    ``not_mri``: masks over the training and held-out scans of the dataset's images that are not brain MRI
    (:mod:`engine.data.not_brain_mri`): left out of every statistic of real scans, learnt by the check as negatives."""
    from engine.data.exposure import brightness_of, fit_exposure
    from engine.ml.mri_check import fit_mri_check, threshold_half

    nm_train, nm_held = not_mri or (np.zeros(len(x_train), dtype=bool), np.zeros(len(x_heldout), dtype=bool))
    run = features_of(model)
    scans_train, scans_held = x_train[~nm_train], x_heldout[~nm_held]
    stats = fit_ood(run(scans_train), y_train[~nm_train], run(scans_held))
    stats["layout"] = fit_layout(layout_stats(scans_train), layout_stats(scans_held))
    stats.update(fit_exposure(brightness_of(scans_train)))
    half = threshold_half(heldout_paths) if heldout_paths else None
    stats["mri_check"] = fit_mri_check(run, x_train, x_heldout, not_mri=(nm_train, nm_held), in_threshold=half)
    return stats


def validation_paths(settings: Settings, storage: Storage, loaded, paths: list[str] | None = None, y: np.ndarray | None = None) -> list[str]:
    """The scans a model was validated on (never trained on): its run's record, else the same seeded split again."""
    val_file = run_dir(settings, loaded.model_id) / "val_paths.json"
    if val_file.exists():
        return json.loads(val_file.read_text())
    dataset = loaded.card["training"]["dataset"]
    if paths is None or y is None:
        _, y, paths = read_prepared(storage, dataset, loaded.size)
    config = json.loads((loaded.folder / "config.json").read_text()) if (loaded.folder / "config.json").exists() else {}
    _, val_idx = split_indices(datasets.read_manifest(storage, dataset), paths, y, float(config.get("val_fraction", 0.1)), int(config.get("seed", 42)))
    return [paths[i] for i in val_idx]


def fit_model_ood(settings: Settings, storage: Storage, model_id: str) -> dict:
    """Compute ood.json for a registered model from its training dataset and validation split; upload it."""
    loaded = load_model(settings, storage, model_id)
    card = loaded.card
    x, y, paths = read_prepared(storage, card["training"]["dataset"], loaded.size)
    val_paths = set(validation_paths(settings, storage, loaded, paths, y))
    is_val = np.array([p in val_paths for p in paths])
    nm = not_brain_mri(datasets.read_manifest(storage, card["training"]["dataset"]), paths)
    stats = fit_for_arrays(loaded.model, x[~is_val], y[~is_val], x[is_val], [p for p, v in zip(paths, is_val) if v], (nm[~is_val], nm[is_val]))
    save_ood(loaded.folder, stats)
    if storage.exists(f"{registry.models_root()}/{model_id}"):
        storage.write(f"{registry.models_root()}/{model_id}/ood.json", (loaded.folder / "ood.json").read_bytes(), overwrite=True)
    logger.info("OOD threshold of %s: %.2f", model_id, stats["threshold"])
    return {
        "model": model_id,
        "threshold": stats["threshold"],
        "refuse_threshold": stats["refuse_threshold"],
        "layout_threshold": stats["layout"]["threshold"],
        "brain_mri_threshold": stats["mri_check"]["threshold"],
        "dark_below": stats["dark_below"],
        "brightness_median": stats["brightness_median"],
        "heldout_median": stats["heldout_median"],
        "quantile": stats["quantile"],
        "dataset": card["training"]["dataset"],
        "datasets_checked": datasets.datasets_root(),
    }
