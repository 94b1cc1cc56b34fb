"""The model card of a finished run: calibration, validation report, refusal statistics, registration."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time

from engine.classes import CLASSES
from engine.data.not_brain_mri import not_brain_mri
from engine.data.pixels import HIGH_PERCENTILE, LOW_PERCENTILE
from engine.hdfs.storage import Storage
from engine.ml import phases, registry
from engine.ml.calibration import calibrated_probabilities, fit_temperature, reliability
from engine.ml.config import TrainConfig
from engine.ml.metrics import classification_report
from engine.ml.models import PRETRAINED, save_for_inference
from engine.ml.ood import fit_for_arrays, save_ood
from engine.ml.runs import read_history, run_dir
from engine.settings import Settings


def data_digest(paths: list[str], shas: list[str]) -> str:
    h = hashlib.sha256()
    for p, s in sorted(zip(paths, shas)):
        h.update(f"{p}:{s}\n".encode())
    return h.hexdigest()[:16]


def transfer_summary(config: TrainConfig) -> dict | None:
    if not (config.freeze_epochs or config.init_from or config.arch in PRETRAINED):
        return None
    return {
        "init_from": config.init_from or None,
        "weights": None if config.init_from else config.weights,
        "freeze_epochs": config.freeze_epochs,
        "unfreeze": config.unfreeze,
        "finetune_learning_rate": config.finetune_learning_rate,
        "phases": [{"phase": s.phase, "epochs": [s.start + 1, s.end]} for s in phases.spans(config)],
    }


def finish(settings: Settings, storage: Storage, model, config: TrainConfig, run_id: str, data, split, train_seconds: float) -> dict:
    """Calibrate on the validation split, fit the refusal statistics, write the card and register the model."""
    x, y, paths, manifest = data
    train_idx, val_idx = split
    folder = run_dir(settings, run_id)
    logits = model.predict(x[val_idx], batch_size=128, verbose=0)
    temperature = fit_temperature(logits, y[val_idx])
    probs = calibrated_probabilities(logits, temperature)
    report = classification_report(y[val_idx], probs)
    model_dir = folder / "model"
    model_dir.mkdir(exist_ok=True)
    save_for_inference(model, model_dir / "model.keras")
    card = {
        "model_id": run_id,
        "name": f"{config.arch} CNN on {config.dataset}" + (f", adapted from {config.init_from}" if config.init_from else ""),
        "classes": list(CLASSES),
        "input": {
            "size": config.size,
            "channels": int(x.shape[-1]),
            "dtype": "uint8",
            "preprocessing": f"grey, resize to {config.size}x{config.size} bilinear, stretch the "
            f"{LOW_PERCENTILE}-{HIGH_PERCENTILE} percentile range to 0-255 (engine.data.pixels)",
        },
        "architecture": config.arch,
        "parameters": int(model.count_params()),
        "init_from": config.init_from or None,
        "transfer": transfer_summary(config),
        "training": {
            "dataset": config.dataset,
            "images": int(len(y)),
            "train_images": int(len(train_idx)),
            "val_images": int(len(val_idx)),
            "data_digest": data_digest(paths, list(manifest.set_index("path").loc[paths, "sha256"])),
            "mode": config.mode,
            "workers": config.workers,
            "epochs": config.epochs,
            "seconds": round(train_seconds, 1),
            "split": "stratified by class, grouped by exact and near duplicates",
        },
        "validation": report,
        "temperature": temperature,
        "reliability": reliability(probs, y[val_idx]),
        "history": read_history(settings, run_id),
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "val_paths_digest": hashlib.sha256("\n".join(sorted(paths[i] for i in val_idx)).encode()).hexdigest()[:16],
    }
    card["model_sha256"] = registry.file_sha256(model_dir / "model.keras")  # checked before every load
    (model_dir / "card.json").write_text(json.dumps(card, indent=1))
    # The refusal threshold comes from real held-out scans; the dataset's images that are not brain MRI are negatives.
    nm = not_brain_mri(manifest, paths)
    save_ood(model_dir, fit_for_arrays(model, x[train_idx], y[train_idx], x[val_idx], [paths[i] for i in val_idx], (nm[train_idx], nm[val_idx])))
    (model_dir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1, default=str))
    (folder / "val_paths.json").write_text(json.dumps(sorted(paths[i] for i in val_idx)))
    registry.save_model(settings, storage, model_dir, run_id)
    return card
