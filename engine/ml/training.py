"""Training: local Keras (the sequential baseline) or distributed with Elephas, with checkpoints, resume,
calibration and registration of the result (run folders: :mod:`engine.ml.runs`)."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from engine.classes import CLASSES
from engine.data import datasets
from engine.data.preprocess import read_prepared
from engine.errors import InputError, TrainingError
from engine.hdfs.storage import Storage
from engine.ml import registry
from engine.ml.card import finish
from engine.ml.config import TrainConfig, TrainingMode
from engine.ml.fit import EpochReporter, fit_local
from engine.ml.models import Architecture, build_compact, build_mobilenetv2, build_resnet50
from engine.ml.runs import open_run
from engine.ml.splits import split_indices
from engine.ml.tfsetup import import_tensorflow
from engine.progress import ProgressFn, no_progress
from engine.settings import Settings
from engine.textutil import write_json_atomic

logger = logging.getLogger(__name__)


def adapt_source(settings: Settings, storage: Storage, config: TrainConfig) -> Path | None:
    """The registered model ``--init-from`` names, checked; the run takes its architecture and input size."""
    if not config.init_from:
        return None
    folder = registry.fetch(settings, storage, registry.check_model_id(config.init_from))
    card = registry.read_card(folder)
    registry.verify(folder, card)
    config.arch, config.size = card.get("architecture", config.arch), int(card["input"]["size"])
    return folder


def train(settings: Settings, storage: Storage, config: TrainConfig, resume: str | None = None, on_progress: ProgressFn = no_progress) -> dict:
    """Train, calibrate, evaluate on the validation split and register a model; returns its card.

    Args:
        resume: a run id, or "latest" for the newest unfinished run of this dataset.
    Raises:
        InputError: the dataset is missing, not preprocessed, or a class has no images.
        TrainingError: training failed (the checkpoint of the last finished epoch is kept).
    """
    config.validate()
    # This process trains in local mode; in the Elephas modes it only validates between epochs, while the
    # workers (capped to cores / workers threads each) are idle, so it may use every core either way.
    local = config.mode == TrainingMode.LOCAL
    tf = import_tensorflow(config.threads if local and config.threads else os.cpu_count() or 1)
    import keras

    init_folder = adapt_source(settings, storage, config) if not resume else None
    config, run_id, folder, state = open_run(settings, config, resume)
    if state.get("finished"):
        logger.info("run %s already finished; nothing to resume", run_id)
        return json.loads((folder / "model" / "card.json").read_text())
    if resume and config.init_from:
        init_folder = adapt_source(settings, storage, config)

    on_progress(0, config.epochs, "reading prepared images from HDFS")
    x, y, paths, manifest = read_training_data(storage, config)
    train_idx, val_idx = split_indices(manifest, paths, y, config.val_fraction, config.seed)
    y_onehot = np.eye(len(CLASSES), dtype=np.float32)[y]
    keras.utils.set_random_seed(config.seed)

    model, initial_epoch = _start_model(config, folder, state if resume else None, init_folder)

    reporter = EpochReporter(folder, config, on_progress)
    t0 = time.monotonic()
    try:
        if config.mode == TrainingMode.LOCAL:
            fit_local(tf, model, x, y_onehot, train_idx, val_idx, config, initial_epoch, reporter)
        else:
            from engine.ml.elephas_driver import fit_elephas

            model = fit_elephas(settings, model, x, y_onehot, train_idx, val_idx, config, initial_epoch, reporter)
    except (KeyboardInterrupt, InputError):
        raise
    except Exception as err:
        raise TrainingError(
            f"Training failed at epoch {reporter.epoch + 1}: {err}. The last finished epoch is "
            f"checkpointed; continue with `python -m engine train {config.dataset} --resume {run_id}`."
        ) from err
    train_seconds = time.monotonic() - t0

    on_progress(config.epochs, config.epochs, "calibrating and evaluating")
    card = finish(settings, storage, model, config, run_id, (x, y, paths, manifest), (train_idx, val_idx), train_seconds)
    write_json_atomic(folder / "state.json", {"epoch": config.epochs, "finished": True})
    logger.info("run %s: val accuracy %.4f in %.0f s", run_id, card["validation"]["accuracy"], train_seconds)
    return card


def read_training_data(storage: Storage, config: TrainConfig):
    """(x, y, paths, manifest) of the prepared dataset; every class present, three channels for ResNet50."""
    manifest = datasets.read_manifest(storage, config.dataset)
    x, y, paths = read_prepared(storage, config.dataset, config.size)
    if config.limit:
        x, y, paths = x[: config.limit], y[: config.limit], paths[: config.limit]
    missing = [c for i, c in enumerate(CLASSES) if not (y == i).any()]
    if missing:
        raise InputError(f"Dataset {config.dataset!r} has no images of {', '.join(missing)}; every class needs examples.")
    if config.arch == Architecture.RESNET50 and x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return x, y, paths, manifest


def _start_model(config: TrainConfig, folder: Path, resumed_state: dict | None, init_folder: Path | None):
    """(model, first epoch): the checkpoint of a resumed run, else a new network and an empty history."""
    import keras

    ckpt = folder / "checkpoint.keras"
    if resumed_state is not None and ckpt.exists():
        logger.info("resuming %s from epoch %d", folder.name, int(resumed_state.get("epoch", 0)))
        return keras.models.load_model(ckpt), int(resumed_state.get("epoch", 0))
    (folder / "history.jsonl").write_text("")
    return build_model(config, init_folder), 0


def build_model(config: TrainConfig, init_folder: Path | None = None):
    """A new, uncompiled network: the registered model at ``init_folder`` (adapting it), ResNet50, MobileNetV2 or the compact CNN."""
    import keras

    if init_folder is not None:
        return keras.models.load_model(init_folder / "model.keras", compile=False)
    if config.arch == Architecture.RESNET50:
        return build_resnet50(config.size, 3, None if config.weights == "none" else config.weights)
    if config.arch == Architecture.MOBILENETV2:
        return build_mobilenetv2(config.size, 1, None if config.weights == "none" else config.weights, seed=config.seed, kind=config.augmentation)
    return build_compact(config.size, 1, seed=config.seed, kind=config.augmentation)
