"""Switching how a registered model reads a scan: test-time flip on or off (`models flip` / `models noflip`), a
thin black rim on or off (`models rim` / `models norim`, :mod:`engine.ml.test_time`).

The model file is untouched (its seal holds); the card changes: the flag the loader reads, and the temperature
and validation report refitted on the model's own validation split read the new way, so the probabilities stay
calibrated. The refusal statistics are features of the scan as uploaded and do not change.
"""

from __future__ import annotations

import numpy as np

from engine.hdfs.storage import Storage
from engine.ml import registry
from engine.ml.calibration import calibrated_probabilities, fit_temperature, reliability
from engine.ml.inference import LoadedModel
from engine.ml.metrics import classification_report
from engine.settings import Settings


def switch_flip(settings: Settings, storage: Storage, model_id: str, on: bool | None = True, rim: float | None = None) -> dict:
    """Set the card's ``input.test_time_flip`` (None: kept as it is; and, given ``rim``, ``input.test_time_rim``: 1 for none), refit its
    temperature and validation report; the card's HDFS copy too."""
    from engine.data.preprocess import read_prepared
    from engine.ml.ood import validation_paths

    folder = registry.fetch(settings, storage, registry.check_model_id(model_id))
    loaded = LoadedModel(folder)  # not the cached one: its flag is about to change
    x, y, paths = read_prepared(storage, loaded.card["training"]["dataset"], loaded.size)
    val = set(validation_paths(settings, storage, loaded, paths, y))
    is_val = np.array([p in val for p in paths])
    before = classification_report(y[is_val], loaded.predict(x[is_val]))["accuracy"]
    loaded.flip = loaded.flip if on is None else on
    loaded.rim = loaded.rim if rim is None else float(rim)
    logits = loaded.logits(x[is_val])
    temperature = fit_temperature(logits, y[is_val])
    probs = calibrated_probabilities(logits, temperature)
    card = registry.read_card(folder)
    card["input"]["test_time_flip"] = loaded.flip
    card["input"]["test_time_rim"] = loaded.rim
    card["temperature"] = temperature
    card["validation"] = classification_report(y[is_val], probs)
    card["reliability"] = reliability(probs, y[is_val])
    registry.write_card(storage, folder, card)
    return {
        "model": model_id,
        "test_time_flip": loaded.flip,
        "test_time_rim": loaded.rim,
        "temperature": temperature,
        "validation_n": int(is_val.sum()),
        "validation_accuracy_before": before,
        "validation_accuracy": card["validation"]["accuracy"],
        "validation_ece": card["validation"]["ece"],
    }
