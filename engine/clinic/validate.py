"""A labelled set put through what a clinician sees: the checks before the model, the gate, the answer."""

from __future__ import annotations

import base64

import numpy as np

from engine.classes import CLASSES
from engine.clinic.classify import Classifier
from engine.clinic.gradcam import overlay
from engine.data.pixels import prepare_pil
from engine.data.scans import read_scan
from engine.errors import InputError
from engine.ml.inference import LoadedModel
from engine.png import png_bytes

BATCH = 64  # scans decoded and classified at once: bounds the memory of the decoded pixels and heat maps


def gate_report(loaded: LoadedModel, raw: list[bytes], labels: np.ndarray) -> dict:
    """``refused`` and ``uncertain`` counts (total, per class), ``accuracy_accepted``, ``accuracy_confident`` and
    ``per_scan`` (refused, flagged, reason, feature distance), in the order of ``raw``."""
    classifier = Classifier(loaded)
    refused, uncertain, predicted, per_scan = [], [], [], []
    for start in range(0, len(raw), BATCH):
        for a in classifier.classify([(str(start + i), data) for i, data in enumerate(raw[start : start + BATCH])]):
            confidence = max(a.probabilities.values()) if a.probabilities else None
            per_scan.append(
                {
                    "refused": a.rejected,
                    "flagged": bool(a.uncertain and not a.rejected),
                    "reason": a.reason,
                    "ood_distance": a.ood_distance,
                    "confidence": confidence,
                }
            )
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
        "gallery": _gallery(classifier, raw, labels, predicted, per_scan),
        "refused": counts(refused),
        "uncertain": counts(uncertain),
        "accuracy_accepted": accuracy(accepted),
        "n_accepted": int(accepted.sum()),
        "accuracy_confident": accuracy(confident),
        "n_confident": int(confident.sum()),
        "per_scan": per_scan,
    }


GALLERY = 8  # of each: the most confident errors, and the refusals


def _gallery(classifier: Classifier, raw: list[bytes], labels: np.ndarray, predicted: np.ndarray, per_scan: list[dict]) -> list[dict]:
    """The scans a reviewer should look at first, each with its Grad-CAM (a refusal's too: where the model
    looked when it found the scan unlike its training data), as small PNGs in base64."""
    wrong = sorted((i for i, v in enumerate(per_scan) if not v["refused"] and predicted[i] != labels[i]), key=lambda i: -per_scan[i]["confidence"])
    refused = sorted((i for i, v in enumerate(per_scan) if v["refused"]), key=lambda i: -(per_scan[i]["ood_distance"] or 0))
    out = []
    for kind, i in [("error", i) for i in wrong[:GALLERY]] + [("refused", i) for i in refused[:GALLERY]]:
        try:
            grey = read_scan(raw[i]).image
        except InputError:
            continue  # unreadable: in the table with its reason, nothing to draw
        cams, _, _ = classifier.explainer(prepare_pil(grey, classifier.loaded.size, classifier.loaded.channels)[None])
        row = {"index": i, "kind": kind, "true": CLASSES[int(labels[i])], "predicted": CLASSES[int(predicted[i])] if predicted[i] >= 0 else None}
        row |= {"confidence": per_scan[i]["confidence"], "reason": per_scan[i]["reason"]}
        row["png"] = base64.b64encode(png_bytes(overlay(grey.convert("L").resize((160, 160)), cams[0]))).decode()
        out.append(row)
    return out
