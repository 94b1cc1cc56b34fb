"""A labelled set put through what a clinician sees: the checks before the model, the gate, the answer."""

from __future__ import annotations

import numpy as np

from engine.classes import CLASSES
from engine.clinic.classify import Classifier
from engine.ml.inference import LoadedModel

BATCH = 64  # scans decoded and classified at once: bounds the memory of the decoded pixels and heat maps


def gate_report(loaded: LoadedModel, raw: list[bytes], labels: np.ndarray) -> dict:
    """``refused`` and ``uncertain`` counts (total, per class), ``accuracy_accepted`` and ``accuracy_confident``."""
    classifier = Classifier(loaded)
    refused, uncertain, predicted = [], [], []
    for start in range(0, len(raw), BATCH):
        for a in classifier.classify([(str(start + i), data) for i, data in enumerate(raw[start : start + BATCH])]):
            refused.append(a.rejected)
            uncertain.append(a.uncertain and not a.rejected)
            predicted.append(CLASSES.index(a.label) if a.label else -1)
    refused, uncertain, predicted, labels = np.array(refused), np.array(uncertain), np.array(predicted), np.asarray(labels)
    accepted, confident = ~refused, ~refused & ~uncertain

    def counts(flags: np.ndarray) -> dict:
        return {"total": int(flags.sum()), "per_class": {c: int(flags[labels == i].sum()) for i, c in enumerate(CLASSES)}}

    def accuracy(mask: np.ndarray) -> float | None:
        return float((predicted[mask] == labels[mask]).mean()) if mask.any() else None

    return {
        "refused": counts(refused),
        "uncertain": counts(uncertain),
        "accuracy_accepted": accuracy(accepted),
        "n_accepted": int(accepted.sum()),
        "accuracy_confident": accuracy(confident),
        "n_confident": int(confident.sum()),
    }
