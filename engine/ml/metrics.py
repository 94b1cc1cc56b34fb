"""Classification metrics with scikit-learn, in the contract's JSON shape."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from engine.classes import CLASSES
from engine.ml.calibration import expected_calibration_error


def wilson_interval(correct: int, n: int, z: float = 1.96) -> list[float]:
    """95% Wilson score interval for an accuracy of correct/n."""
    if n == 0:
        return [0.0, 0.0]
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return [float(max(0.0, centre - half)), float(min(1.0, centre + half))]


def classification_report(labels: np.ndarray, probs: np.ndarray) -> dict:
    """``{"n", "classes", "accuracy", "accuracy_ci95", "macro_f1", "per_class", "confusion_matrix", "ece"}``."""
    labels = np.asarray(labels)
    pred = probs.argmax(axis=1)
    idx = list(range(len(CLASSES)))
    p, r, f, s = precision_recall_fscore_support(labels, pred, labels=idx, zero_division=0)
    correct = int((pred == labels).sum())
    return {
        "n": int(len(labels)),
        "classes": list(CLASSES),
        "accuracy": float(accuracy_score(labels, pred)) if len(labels) else 0.0,
        "accuracy_ci95": wilson_interval(correct, len(labels)),
        "macro_f1": float(f1_score(labels, pred, labels=idx, average="macro", zero_division=0)),
        "per_class": {c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])} for i, c in enumerate(CLASSES)},
        "confusion_matrix": confusion_matrix(labels, pred, labels=idx).tolist(),
        "ece": expected_calibration_error(probs, labels) if len(labels) else 0.0,
    }
