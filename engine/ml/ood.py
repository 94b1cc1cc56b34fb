"""Fit the out-of-distribution statistics of a model from its training dataset (features of real scans)."""

from __future__ import annotations

import json
import logging

import numpy as np

from engine.data import datasets

from engine.ml import registry
from engine.clinic.gradcam import Explainer, fit_ood, save_ood
from engine.data.preprocess import read_prepared
from engine.settings import Settings
from engine.hdfs.storage import Storage

logger = logging.getLogger(__name__)


def features(model, x: np.ndarray, batch: int = 128) -> np.ndarray:
    explainer = Explainer(model)
    return np.concatenate([explainer(x[i:i + batch])[1] for i in range(0, len(x), batch)])


def fit_for_arrays(model, x_train, y_train, x_heldout) -> dict:
    return fit_ood(features(model, x_train), y_train, features(model, x_heldout))


def fit_model_ood(settings: Settings, storage: Storage, model_id: str) -> dict:
    """Compute ood.json for a registered model from its training dataset and validation split; upload it."""
    from engine.ml.inference import load_model
    from engine.ml.training import run_dir

    loaded = load_model(settings, storage, model_id)
    card = loaded.card
    x, y, paths = read_prepared(storage, card["training"]["dataset"], loaded.size)
    val_file = run_dir(settings, model_id) / "val_paths.json"
    val_paths = set(json.loads(val_file.read_text())) if val_file.exists() else set()
    is_val = np.array([p in val_paths for p in paths])
    if not is_val.any():  # no record of the split: hold out every tenth image
        is_val = np.arange(len(paths)) % 10 == 0
    stats = fit_for_arrays(loaded.model, x[~is_val], y[~is_val], x[is_val])
    save_ood(loaded.folder, stats)
    if storage.exists(f"{registry.models_root()}/{model_id}"):
        storage.write(f"{registry.models_root()}/{model_id}/ood.json", (loaded.folder / "ood.json").read_bytes(), overwrite=True)
    logger.info("OOD threshold of %s: %.2f", model_id, stats["threshold"])
    return {"model": model_id, "threshold": stats["threshold"], "heldout_median": stats["heldout_median"],
            "quantile": stats["quantile"], "dataset": card["training"]["dataset"], "datasets_checked": datasets.datasets_root()}
