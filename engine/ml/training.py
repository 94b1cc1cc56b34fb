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

from engine.data import duplicates

from engine.data import datasets

from engine.ml import phases

from engine.ml import registry
from engine.ml.calibration import calibrated_probabilities, fit_temperature, reliability
from engine.classes import CLASSES
from engine.errors import InputError, NotFoundError, TrainingError
from engine.data.pixels import DEFAULT_SIZE, HIGH_PERCENTILE, LOW_PERCENTILE
from engine.ml.metrics import classification_report
from engine.ml.models import Architecture, build_compact, build_resnet50
from engine.data.preprocess import read_prepared
from engine.progress import ProgressFn, no_progress
from engine.settings import Settings
from engine.hdfs.storage import Storage
from engine.textutil import read_jsonl, write_json_atomic
from engine.ml.tfsetup import import_tensorflow

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
    # Transfer learning (engine.ml.phases): epochs 1..freeze_epochs train only the head, the rest fine-tune.
    freeze_epochs: int = 0  # epochs with the pretrained base frozen; 0 = one phase, as plain training
    unfreeze: float | None = None  # share of the base's top layers fine-tuned after that; None: 0.2, or 1.0 with init_from
    finetune_learning_rate: float = 1e-4  # peak rate of the fine-tuning phase (cosine decay, no warm-up)
    init_from: str = ""  # a registered model id to start from (its architecture and input size are kept)
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
        if self.freeze_epochs < 0 or self.finetune_learning_rate <= 0:
            raise InputError("--freeze-epochs must be at least 0 and --finetune-learning-rate above 0.")
        if self.freeze_epochs and self.arch != Architecture.RESNET50 and not self.init_from:
            raise InputError("--freeze-epochs needs a pretrained start to freeze: --arch resnet50 or --init-from MODEL_ID.")
        if self.unfreeze is None:
            self.unfreeze = 1.0 if self.init_from else 0.2
        if not 0 < self.unfreeze <= 1:
            raise InputError(f"--unfreeze {self.unfreeze} must be a share of the layers, above 0 and at most 1.")
        return self


def split_indices(manifest, paths: list[str], labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stratified, seeded split in which exact and near duplicates never straddle train and validation."""
    from sklearn.model_selection import StratifiedGroupKFold

    frame = manifest.set_index("path").loc[paths].reset_index()
    groups = duplicates.duplicate_groups(frame)
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


def build_model(config: TrainConfig, init_folder: Path | None = None):
    """A new, uncompiled network: the registered model at ``init_folder`` (adapting it), ResNet50 or the compact CNN."""
    import keras

    if init_folder is not None:
        return keras.models.load_model(init_folder / "model.keras", compile=False)
    if config.arch == Architecture.RESNET50:
        return build_resnet50(config.size, 3, None if config.weights == "none" else config.weights)
    return build_compact(config.size, 1, seed=config.seed)


def compile_for(model, config: TrainConfig, span: phases.Span, steps_per_epoch: int | None) -> None:
    """Set the phase's trainable layers and compile with a fresh AdamW: the phase's schedule, or (Elephas,
    ``steps_per_epoch`` None) a constant rate the driver sets per epoch."""
    import keras

    phases.set_trainable(model, span.phase, config.unfreeze)
    rate = phases.keras_schedule(config, span, steps_per_epoch) if steps_per_epoch else phases.learning_rate_at(config, span.start)
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=rate, weight_decay=config.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )


def adapt_source(settings: Settings, storage: Storage, config: TrainConfig) -> Path | None:
    """The registered model ``--init-from`` names, checked; the run takes its architecture and input size."""
    if not config.init_from:
        return None
    folder = registry.fetch(settings, storage, registry.check_model_id(config.init_from))
    card = registry.read_card(folder)
    registry.verify(folder, card)
    config.arch, config.size = card.get("architecture", config.arch), int(card["input"]["size"])
    return folder


def _open_run(settings: Settings, config: TrainConfig, resume: str | None) -> tuple[TrainConfig, str, Path, dict]:
    """A new run folder, or the saved config and state of the run ``resume`` names ("latest": the newest unfinished)."""
    if resume == "latest":
        resume = _latest_unfinished(settings, config.dataset)
        if resume is None:
            raise NotFoundError(f"There is no unfinished training run of {config.dataset!r} to resume.")
    if resume:
        folder = run_dir(settings, resume)
        if not (folder / "config.json").exists():
            raise NotFoundError(f"There is no training run {resume!r} under {folder.parent}.")
        state = json.loads((folder / "state.json").read_text()) if (folder / "state.json").exists() else {}
        saved = json.loads((folder / "config.json").read_text())
        config = TrainConfig(**{k: v for k, v in saved.items() if k in {f.name for f in dataclasses.fields(TrainConfig)}})
        return config.validate(), resume, folder, state
    stem = f"{config.arch}-adapted" if config.init_from else config.arch
    run_id = f"{stem}-{config.dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder = run_dir(settings, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1, default=str))
    return config, run_id, folder, {}


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

    init_folder = adapt_source(settings, storage, config) if not resume else None
    config, run_id, folder, state = _open_run(settings, config, resume)
    if state.get("finished"):
        logger.info("run %s already finished; nothing to resume", run_id)
        return json.loads((folder / "model" / "card.json").read_text())
    if resume and config.init_from:
        init_folder = adapt_source(settings, storage, config)

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
    keras.utils.set_random_seed(config.seed)

    ckpt = folder / "checkpoint.keras"
    initial_epoch = int(state.get("epoch", 0))
    if resume and ckpt.exists():
        model = keras.models.load_model(ckpt)
        logger.info("resuming %s from epoch %d", run_id, initial_epoch)
    else:
        model = build_model(config, init_folder)
        initial_epoch = 0
        (folder / "history.jsonl").write_text("")

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
        raise TrainingError(f"Training failed at epoch {reporter.epoch + 1}: {err}. The last finished epoch is "
                            f"checkpointed; continue with `python -m engine train {config.dataset} --resume {run_id}`.") from err
    train_seconds = time.monotonic() - t0

    on_progress(config.epochs, config.epochs, "calibrating and evaluating")
    card = _finish(settings, storage, model, config, run_id, (x, y, paths, manifest), (train_idx, val_idx), train_seconds)
    write_json_atomic(folder / "state.json", {"epoch": config.epochs, "finished": True})
    logger.info("run %s: val accuracy %.4f in %.0f s", run_id, card["validation"]["accuracy"], train_seconds)
    return card


def _transfer_summary(config: TrainConfig) -> dict | None:
    if not (config.freeze_epochs or config.init_from or config.arch == Architecture.RESNET50):
        return None
    return {"init_from": config.init_from or None, "weights": None if config.init_from else config.weights,
            "freeze_epochs": config.freeze_epochs, "unfreeze": config.unfreeze,
            "finetune_learning_rate": config.finetune_learning_rate,
            "phases": [{"phase": s.phase, "epochs": [s.start + 1, s.end]} for s in phases.spans(config)]}


def _finish(settings: Settings, storage: Storage, model, config: TrainConfig, run_id: str, data, split, train_seconds: float) -> dict:
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
        "input": {"size": config.size, "channels": int(x.shape[-1]), "dtype": "uint8",
                  "preprocessing": f"grey, resize to {config.size}x{config.size} bilinear, stretch the "
                                   f"{LOW_PERCENTILE}-{HIGH_PERCENTILE} percentile range to 0-255 (engine.data.pixels)"},
        "architecture": config.arch,
        "parameters": int(model.count_params()),
        "init_from": config.init_from or None,
        "transfer": _transfer_summary(config),
        "training": {"dataset": config.dataset, "images": int(len(y)), "train_images": int(len(train_idx)),
                     "val_images": int(len(val_idx)), "data_digest": data_digest(paths, list(manifest.set_index("path").loc[paths, "sha256"])),
                     "mode": config.mode, "workers": config.workers, "epochs": config.epochs,
                     "seconds": round(train_seconds, 1), "split": "stratified by class, grouped by exact and near duplicates"},
        "validation": report,
        "temperature": temperature,
        "reliability": reliability(probs, y[val_idx]),
        "history": read_history(settings, run_id),
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "val_paths_digest": hashlib.sha256("\n".join(sorted(paths[i] for i in val_idx)).encode()).hexdigest()[:16],
    }
    card["model_sha256"] = registry.file_sha256(model_dir / "model.keras")  # checked before every load
    (model_dir / "card.json").write_text(json.dumps(card, indent=1))
    from engine.ml.ood import fit_for_arrays  # the refusal threshold comes from real held-out scans
    from engine.clinic.gradcam import save_ood

    save_ood(model_dir, fit_for_arrays(model, x[train_idx], y[train_idx], x[val_idx]))
    (model_dir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1, default=str))
    (folder / "val_paths.json").write_text(json.dumps(sorted(paths[i] for i in val_idx)))
    registry.save_model(settings, storage, model_dir, run_id)
    return card


def save_for_inference(model, path: Path) -> None:
    """Weights and architecture without the optimizer state: a third of the size, all inference needs."""
    import keras

    slim = keras.models.clone_model(model)
    slim.set_weights(model.get_weights())
    slim.save(path)


class EpochReporter:
    """Appends each epoch's metrics (and its phase) to history.jsonl, checkpoints, and reports progress."""

    def __init__(self, folder: Path, config: TrainConfig, on_progress: ProgressFn):
        self.folder, self.config, self.on_progress = folder, config, on_progress
        self.epochs = config.epochs
        self.epoch = 0
        self._t = time.monotonic()

    def start_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self._t = time.monotonic()

    def end_epoch(self, epoch: int, logs: dict, model) -> None:
        phase = phases.phase_at(self.config, epoch)
        row = {"epoch": epoch + 1, "seconds": round(time.monotonic() - self._t, 2), "phase": str(phase),
               "trainable_share": round(phases.trainable_share(model), 4),
               **{k: float(v) for k, v in logs.items() if isinstance(v, (int, float, np.floating))}}
        if "learning_rate" not in row:  # Keras' logs lack it; the rate the phase's schedule reached this epoch
            row["learning_rate"] = float(np.asarray(model.optimizer.learning_rate))
        # Checkpoint, then state, each replaced atomically: a kill at any moment leaves the previous epoch's
        # checkpoint whole, and the state never points past the checkpoint on disk.
        model.save(self.folder / "checkpoint.tmp.keras")
        os.replace(self.folder / "checkpoint.tmp.keras", self.folder / "checkpoint.keras")
        write_json_atomic(self.folder / "state.json", {"epoch": epoch + 1, "finished": False})
        with open(self.folder / "history.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        stage = "" if phase == phases.Phase.SINGLE else f" ({phase})"
        self.on_progress(epoch + 1, self.epochs, f"epoch {epoch + 1}{stage}: loss {row.get('loss', 0):.3f}, "
                                                   f"val accuracy {row.get('val_accuracy', 0):.3f}")


def fit_local(tf, model, x, y_onehot, train_idx, val_idx, config: TrainConfig, initial_epoch: int, reporter: EpochReporter) -> None:
    """Plain Keras fit on this process (the sequential baseline), one ``fit`` per phase.

    A phase this process begins gets its trainable layers and a fresh optimizer; a phase resumed from a
    checkpoint keeps the checkpoint's (Keras saves both with the model).
    """
    import keras

    train_ds = (tf.data.Dataset.from_tensor_slices((x[train_idx], y_onehot[train_idx]))
                .shuffle(len(train_idx), seed=config.seed, reshuffle_each_iteration=True)
                .batch(config.batch_size).prefetch(2))
    val_ds = tf.data.Dataset.from_tensor_slices((x[val_idx], y_onehot[val_idx])).batch(128)
    steps = int(np.ceil(len(train_idx) / config.batch_size))

    class Hook(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            reporter.start_epoch(epoch)

        def on_epoch_end(self, epoch, logs=None):
            reporter.end_epoch(epoch, logs or {}, self.model)

    for span in phases.spans(config):
        if span.end <= initial_epoch:
            continue
        if span.start >= initial_epoch:
            compile_for(model, config, span, steps)
        model.fit(train_ds, validation_data=val_ds, epochs=span.end, initial_epoch=max(span.start, initial_epoch),
                  verbose=0, callbacks=[Hook()])
