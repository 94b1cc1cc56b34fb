"""Training: local Keras (the sequential baseline) or distributed with Elephas, with checkpoints, resume,
calibration and registration of the result.

A run lives in ``<run_dir>/training/<run_id>/``: ``config.json``, ``history.jsonl`` (one line per
epoch, read live by the Train page), ``checkpoint.keras`` + ``state.json`` (for ``--resume``) and,
when done, the model folder that is registered in ``/mri/models/<run_id>/``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from enum import StrEnum
from pathlib import Path

import numpy as np

from engine import audit, datasets, registry
from engine.calibration import calibrated_probabilities, fit_temperature, reliability
from engine.classes import CLASSES
from engine.errors import InputError, NotFoundError, TrainingError
from engine.imageprep import DEFAULT_SIZE, HIGH_PERCENTILE, LOW_PERCENTILE
from engine.metrics import classification_report
from engine.model import Architecture, build_compact, build_resnet50
from engine.preprocess import read_prepared
from engine.progress import ProgressFn, no_progress
from engine.settings import Settings
from engine.storage import Storage
from engine.textutil import read_jsonl, write_json_atomic
from engine.tfsetup import import_tensorflow

logger = logging.getLogger(__name__)


class TrainingMode(StrEnum):
    LOCAL = "local"  # plain Keras fit: the sequential baseline
    SYNCHRONOUS = "synchronous"  # Elephas SparkModel
    ASYNCHRONOUS = "asynchronous"  # Elephas AsynchronousSparkModel, locked parameter server
    HOGWILD = "hogwild"  # Elephas AsynchronousSparkModel, lock-free


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a training run; saved as config.json beside its outputs."""

    dataset: str  # HDFS dataset name (must be preprocessed at `size`)
    arch: str = Architecture.COMPACT  # compact | resnet50
    mode: str = TrainingMode.LOCAL  # local | synchronous | asynchronous | hogwild
    workers: int = 1  # Spark workers for Elephas modes
    epochs: int = 30  # passes over the training split
    batch_size: int = 32  # images per gradient step
    size: int = DEFAULT_SIZE  # input side, px (the prepared Parquet's size)
    learning_rate: float = 2e-3  # peak AdamW learning rate, reached after warm-up
    warmup_epochs: int = 2  # linear warm-up before the cosine decay
    # AdamW's decoupled decay (weights shrink by learning rate x this per step): 1e-4 comes to ~0.1% over 60
    # epochs, almost none, yet 0.05 (~40%) trained no better model on kaggle-train (README, the shipped model).
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05  # softens one-hot targets; helps calibration
    val_fraction: float = 0.1  # share of duplicate groups held out for validation
    seed: int = 42  # split, weights and augmentation
    frequency: str = "epoch"  # Elephas weight exchange: epoch | batch
    weights: str = "imagenet"  # resnet50 only: imagenet | none | path to .h5
    threads: int = 0  # TensorFlow threads per worker; 0 = cores / workers
    limit: int = 0  # use only the first N images (tests, demos); 0 = all

    def validate(self) -> "TrainConfig":
        if self.arch not in set(Architecture):
            raise InputError(f"--arch {self.arch!r} is unknown; use one of {[str(a) for a in Architecture]}.")
        if self.mode not in set(TrainingMode):
            raise InputError(f"--mode {self.mode!r} is unknown; use one of {[str(m) for m in TrainingMode]}.")
        if self.epochs < 1 or self.batch_size < 1 or self.workers < 1:
            raise InputError("--epochs, --batch-size and --workers must be at least 1.")
        if self.learning_rate <= 0 or self.weight_decay < 0:
            raise InputError("--learning-rate must be above 0 and --weight-decay at least 0.")
        if not 0.02 <= self.val_fraction <= 0.5:
            raise InputError(f"--val-fraction {self.val_fraction} must be between 0.02 and 0.5.")
        if self.frequency not in ("epoch", "batch"):
            raise InputError(f"--frequency {self.frequency!r} must be epoch or batch.")
        return self


def split_indices(manifest, paths: list[str], labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stratified, seeded split in which exact and near duplicates never straddle train and validation."""
    from sklearn.model_selection import StratifiedGroupKFold

    frame = manifest.set_index("path").loc[paths].reset_index()
    groups = audit.duplicate_groups(frame)
    splitter = StratifiedGroupKFold(n_splits=max(2, round(1 / val_fraction)), shuffle=True, random_state=seed)
    train_idx, val_idx = next(splitter.split(np.zeros(len(labels)), labels, groups))
    return train_idx, val_idx


def data_digest(paths: list[str], shas: list[str]) -> str:
    h = hashlib.sha256()
    for p, s in sorted(zip(paths, shas)):
        h.update(f"{p}:{s}\n".encode())
    return h.hexdigest()[:16]


def run_dir(settings: Settings, run_id: str) -> Path:
    return settings.run_dir / "training" / run_id


def read_history(settings: Settings, run_id: str) -> list[dict]:
    return read_jsonl(run_dir(settings, run_id) / "history.jsonl")


def list_runs(settings: Settings) -> list[dict]:
    """Training runs on this machine, newest first, with their config and state."""
    root = settings.run_dir / "training"
    if not root.is_dir():
        return []
    runs = []
    # Newest first by when the run started (its config), not by name: names begin with the architecture and dataset.
    folders = [f for f in root.iterdir() if (f / "config.json").is_file()]
    for folder in sorted(folders, key=lambda f: (f / "config.json").stat().st_mtime, reverse=True):
        try:
            config = json.loads((folder / "config.json").read_text())
            state = json.loads((folder / "state.json").read_text()) if (folder / "state.json").exists() else {}
        except (OSError, ValueError):
            continue
        runs.append({"run_id": folder.name, "config": config, "state": state})
    return runs


def _latest_unfinished(settings: Settings, dataset: str) -> str | None:
    for run in list_runs(settings):
        if run["config"].get("dataset") == dataset and not run["state"].get("finished"):
            return run["run_id"]
    return None


def _schedule(config: TrainConfig, steps_per_epoch: int):
    import keras

    total = max(1, config.epochs * steps_per_epoch)
    warmup = min(total - 1, config.warmup_epochs * steps_per_epoch)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate / 20, decay_steps=max(1, total - warmup), alpha=0.01,
        warmup_target=config.learning_rate, warmup_steps=warmup)


def build_model(config: TrainConfig, steps_per_epoch: int):
    import keras

    if config.arch == Architecture.RESNET50:
        model = build_resnet50(config.size, 3, None if config.weights == "none" else config.weights)
    else:
        model = build_compact(config.size, 1, seed=config.seed)
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=_schedule(config, steps_per_epoch), weight_decay=config.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    return model


def train(settings: Settings, storage: Storage, config: TrainConfig, resume: str | None = None,
          on_progress: ProgressFn = no_progress) -> dict:
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

    if resume == "latest":
        resume = _latest_unfinished(settings, config.dataset)
        if resume is None:
            raise NotFoundError(f"There is no unfinished training run of {config.dataset!r} to resume.")
    if resume:
        folder = run_dir(settings, resume)
        if not (folder / "config.json").exists():
            raise NotFoundError(f"There is no training run {resume!r} under {folder.parent}.")
        state = json.loads((folder / "state.json").read_text()) if (folder / "state.json").exists() else {}
        if state.get("finished"):
            logger.info("run %s already finished; nothing to resume", resume)
            return json.loads((folder / "model" / "card.json").read_text())
        saved = json.loads((folder / "config.json").read_text())
        config = TrainConfig(**{k: v for k, v in saved.items() if k in {f.name for f in dataclasses.fields(TrainConfig)}})
        run_id = resume
    else:
        run_id = f"{config.arch}-{config.dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
        folder = run_dir(settings, run_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1, default=str))
        state = {}

    on_progress(0, config.epochs, "reading prepared images from HDFS")
    manifest = datasets.read_manifest(storage, config.dataset)
    x, y, paths = read_prepared(storage, config.dataset, config.size)
    if config.limit:
        x, y, paths = x[:config.limit], y[:config.limit], paths[:config.limit]
    missing = [c for i, c in enumerate(CLASSES) if not (y == i).any()]
    if missing:
        raise InputError(f"Dataset {config.dataset!r} has no images of {', '.join(missing)}; every class needs examples.")
    if config.arch == Architecture.RESNET50 and x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    train_idx, val_idx = split_indices(manifest, paths, y, config.val_fraction, config.seed)
    y_onehot = np.eye(len(CLASSES), dtype=np.float32)[y]
    steps = int(np.ceil(len(train_idx) / config.batch_size))
    keras.utils.set_random_seed(config.seed)

    ckpt = folder / "checkpoint.keras"
    initial_epoch = int(state.get("epoch", 0))
    if resume and ckpt.exists():
        model = keras.models.load_model(ckpt)
        logger.info("resuming %s from epoch %d", run_id, initial_epoch)
    else:
        model = build_model(config, steps)
        initial_epoch = 0
        (folder / "history.jsonl").write_text("")

    reporter = EpochReporter(folder, config.epochs, on_progress)
    t0 = time.monotonic()
    try:
        if config.mode == TrainingMode.LOCAL:
            fit_local(tf, model, x, y_onehot, train_idx, val_idx, config, initial_epoch, reporter)
        else:
            from engine.distributed import fit_elephas

            model = fit_elephas(settings, model, x, y_onehot, train_idx, val_idx, config, initial_epoch, reporter)
    except (KeyboardInterrupt, InputError):
        raise
    except Exception as err:
        raise TrainingError(f"Training failed at epoch {reporter.epoch + 1}: {err}. The last finished epoch is "
                            f"checkpointed; continue with `python -m engine train {config.dataset} --resume {run_id}`.") from err
    train_seconds = time.monotonic() - t0

    on_progress(config.epochs, config.epochs, "calibrating and evaluating")
    logits = model.predict(x[val_idx], batch_size=128, verbose=0)
    temperature = fit_temperature(logits, y[val_idx])
    probs = calibrated_probabilities(logits, temperature)
    report = classification_report(y[val_idx], probs)
    model_dir = folder / "model"
    model_dir.mkdir(exist_ok=True)
    save_for_inference(model, model_dir / "model.keras")
    history = read_history(settings, run_id)
    card = {
        "model_id": run_id,
        "name": f"{config.arch} CNN on {config.dataset}",
        "classes": list(CLASSES),
        "input": {"size": config.size, "channels": int(x.shape[-1]), "dtype": "uint8",
                  "preprocessing": f"grey, resize to {config.size}x{config.size} bilinear, stretch the "
                                   f"{LOW_PERCENTILE}-{HIGH_PERCENTILE} percentile range to 0-255 (engine.imageprep)"},
        "architecture": config.arch,
        "parameters": int(model.count_params()),
        "training": {"dataset": config.dataset, "images": int(len(y)), "train_images": int(len(train_idx)),
                     "val_images": int(len(val_idx)), "data_digest": data_digest(paths, list(manifest.set_index("path").loc[paths, "sha256"])),
                     "mode": config.mode, "workers": config.workers, "epochs": config.epochs,
                     "seconds": round(train_seconds, 1), "split": "stratified by class, grouped by exact and near duplicates"},
        "validation": report,
        "temperature": temperature,
        "reliability": reliability(probs, y[val_idx]),
        "history": history,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "val_paths_digest": hashlib.sha256("\n".join(sorted(paths[i] for i in val_idx)).encode()).hexdigest()[:16],
    }
    card["model_sha256"] = registry.file_sha256(model_dir / "model.keras")  # checked before every load
    (model_dir / "card.json").write_text(json.dumps(card, indent=1))
    from engine.ood_fit import fit_for_arrays  # the refusal threshold comes from real held-out scans
    from engine.explain import save_ood

    save_ood(model_dir, fit_for_arrays(model, x[train_idx], y[train_idx], x[val_idx]))
    (model_dir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1, default=str))
    (folder / "val_paths.json").write_text(json.dumps(sorted(paths[i] for i in val_idx)))
    registry.save_model(settings, storage, model_dir, run_id)
    write_json_atomic(folder / "state.json", {"epoch": config.epochs, "finished": True})
    logger.info("run %s: val accuracy %.4f in %.0f s", run_id, report["accuracy"], train_seconds)
    return card


def save_for_inference(model, path: Path) -> None:
    """Weights and architecture without the optimizer state: a third of the size, all inference needs."""
    import keras

    slim = keras.models.clone_model(model)
    slim.set_weights(model.get_weights())
    slim.save(path)


class EpochReporter:
    """Appends each epoch's metrics to history.jsonl, checkpoints, and reports progress."""

    def __init__(self, folder: Path, epochs: int, on_progress: ProgressFn):
        self.folder, self.epochs, self.on_progress = folder, epochs, on_progress
        self.epoch = 0
        self._t = time.monotonic()

    def start_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self._t = time.monotonic()

    def end_epoch(self, epoch: int, logs: dict, model) -> None:
        row = {"epoch": epoch + 1, "seconds": round(time.monotonic() - self._t, 2),
               **{k: float(v) for k, v in logs.items() if isinstance(v, (int, float, np.floating))}}
        # Checkpoint, then state, each replaced atomically: a kill at any moment leaves the previous epoch's
        # checkpoint whole, and the state never points past the checkpoint on disk.
        model.save(self.folder / "checkpoint.tmp.keras")
        os.replace(self.folder / "checkpoint.tmp.keras", self.folder / "checkpoint.keras")
        write_json_atomic(self.folder / "state.json", {"epoch": epoch + 1, "finished": False})
        with open(self.folder / "history.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        self.on_progress(epoch + 1, self.epochs, f"epoch {epoch + 1}: loss {row.get('loss', 0):.3f}, "
                                                   f"val accuracy {row.get('val_accuracy', 0):.3f}")


def fit_local(tf, model, x, y_onehot, train_idx, val_idx, config: TrainConfig, initial_epoch: int, reporter: EpochReporter) -> None:
    """Plain Keras fit on this process: the sequential baseline."""
    import keras

    train_ds = (tf.data.Dataset.from_tensor_slices((x[train_idx], y_onehot[train_idx]))
                .shuffle(len(train_idx), seed=config.seed, reshuffle_each_iteration=True)
                .batch(config.batch_size).prefetch(2))
    val_ds = tf.data.Dataset.from_tensor_slices((x[val_idx], y_onehot[val_idx])).batch(128)

    class Hook(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            reporter.start_epoch(epoch)

        def on_epoch_end(self, epoch, logs=None):
            reporter.end_epoch(epoch, logs or {}, self.model)

    model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, initial_epoch=initial_epoch, verbose=0, callbacks=[Hook()])
