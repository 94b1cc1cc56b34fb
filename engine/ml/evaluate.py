"""Evaluate a model on a labelled class-folder directory or an HDFS dataset, optionally counting only leak-free images."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.classes import CLASSES
from engine.data import datasets, duplicates
from engine.data.image_checks import inspect_image
from engine.data.ingest import discover
from engine.errors import InputError
from engine.hdfs.storage import Storage
from engine.ml.calibration import reliability
from engine.ml.inference import LoadedModel, load_model
from engine.ml.metrics import classification_report
from engine.progress import ProgressFn, no_progress
from engine.settings import Settings

logger = logging.getLogger(__name__)


def _local_images(folder: Path, model, on_progress: ProgressFn) -> tuple[np.ndarray, np.ndarray, list[str], list[str], list[dict]]:
    candidates, rejected = discover(folder, default_split="test")
    xs, ys, shas, phashes, raw, names = [], [], [], [], [], []
    for i, cand in enumerate(candidates):
        try:
            data = cand.read()
            info = inspect_image(data, cand.source)
            xs.append(model.prepare(data))
        except (InputError, OSError, ValueError) as err:
            rejected.append({"path": cand.source, "reason": str(err)})
            continue
        raw.append(data)
        names.append(cand.source)
        ys.append(CLASSES.index(cand.cls))
        shas.append(info.sha256)
        phashes.append(info.phash)
        if i % 100 == 0:
            on_progress(i, len(candidates), "reading images")
    if not xs:
        raise InputError(f"{folder} holds no readable labelled images (expected <class>/<image> folders).")
    return np.stack(xs), np.array(ys), shas, phashes, rejected, raw, names


def _dataset_images(storage: Storage, name: str, model, on_progress: ProgressFn):
    from engine.data.preprocess import read_packed

    manifest = datasets.read_manifest(storage, name).set_index("path")
    table = read_packed(storage, name)
    xs, ys, shas, phashes, raw = [], [], [], [], []
    for path, cls, content in zip(table.column("path").to_pylist(), table.column("class").to_pylist(), table.column("content").to_pylist()):
        xs.append(model.prepare(content))
        raw.append(content)
        ys.append(CLASSES.index(cls))
        shas.append(manifest.loc[path, "sha256"])
        phashes.append(manifest.loc[path, "phash"])
    on_progress(len(xs), len(xs), "read the dataset")
    return np.stack(xs), np.array(ys), shas, phashes, [], raw, table.column("path").to_pylist()


def evaluate_model(
    settings: Settings,
    storage: Storage,
    model_id: str | None,
    data: str,
    train_manifest: str | None = None,
    on_progress: ProgressFn = no_progress,
    gate_report: Callable[[LoadedModel, list[bytes], np.ndarray], dict] | None = None,
) -> dict:
    """Metrics of a model on ``data`` (a local class-folder directory, else an HDFS dataset name).

    With ``gate_report`` (the clinic's, :func:`engine.clinic.validate.gate_report`), also what a clinician would
    have been told of each scan: refused and flagged counts per class and the accuracy on the answered scans.

    With ``train_manifest``, also ``leak_free``: metrics on the images that have no exact or near
    duplicate in that training dataset.
    """
    model = load_model(settings, storage, model_id)
    path = Path(data).expanduser()
    if path.is_dir() or path.is_file():  # a class-folder tree or a .zip of one
        x, y, shas, phashes, rejected, raw, names = _local_images(path, model, on_progress)
    else:
        x, y, shas, phashes, rejected, raw, names = _dataset_images(storage, datasets.check_name(data), model, on_progress)
    on_progress(0, 1, "classifying")
    probs = model.predict(x)
    result = {**classification_report(y, probs), "model": model.model_id, "data": data, "rejected": rejected}
    result["reliability"] = reliability(probs, y)
    result["scans"] = [
        {"path": name, "true": CLASSES[t], "predicted": CLASSES[int(p.argmax())], "confidence": float(p.max())} for name, t, p in zip(names, y, probs)
    ]
    if gate_report is not None:
        on_progress(0, 1, "putting every scan through the clinic's checks")
        gated = gate_report(model, raw, y)
        for row, verdict in zip(result["scans"], gated.pop("per_scan", [])):
            row.update(verdict)
        result.update(gated)
    if train_manifest:
        train = datasets.read_manifest(storage, train_manifest)
        leaked = np.isin(np.array(shas), train["sha256"].to_numpy())
        near = duplicates.near_pairs(duplicates.hash_array(phashes), duplicates.NEAR_THRESHOLD, other=duplicates.hash_array(train["phash"]))
        for i, _, _ in near:
            leaked[i] = True
        keep = ~leaked
        sub = classification_report(y[keep], probs[keep]) if keep.any() else {"n": 0, "accuracy": 0.0, "macro_f1": 0.0}
        result["leak_free"] = {
            "n": sub["n"],
            "accuracy": sub["accuracy"],
            "macro_f1": sub["macro_f1"],
            "excluded_duplicates_of_training": int(leaked.sum()),
            "train_manifest": train_manifest,
        }
    on_progress(1, 1, "done")
    return result
