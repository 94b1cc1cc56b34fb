"""Fitting a compiled model: the per-phase optimizer, the epoch reporter (history, checkpoint, progress) and
the local Keras loop that is the sequential baseline."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from engine.ml import phases
from engine.ml.config import TrainConfig
from engine.progress import ProgressFn
from engine.textutil import write_json_atomic


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
        row = {
            "epoch": epoch + 1,
            "seconds": round(time.monotonic() - self._t, 2),
            "phase": str(phase),
            "trainable_share": round(phases.trainable_share(model), 4),
            **{k: float(v) for k, v in logs.items() if isinstance(v, (int, float, np.floating))},
        }
        if isinstance(logs.get("locality"), dict):  # Elephas epochs: where Spark ran the workers' tasks
            row["locality"] = logs["locality"]
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
        self.on_progress(epoch + 1, self.epochs, f"epoch {epoch + 1}{stage}: loss {row.get('loss', 0):.3f}, val accuracy {row.get('val_accuracy', 0):.3f}")


def fit_local(tf, model, x, y_onehot, train_idx, val_idx, config: TrainConfig, initial_epoch: int, reporter: EpochReporter) -> None:
    """Plain Keras fit on this process (the sequential baseline), with history, checkpoints and progress."""
    import keras

    train_ds = (
        tf.data.Dataset.from_tensor_slices((x[train_idx], y_onehot[train_idx]))
        .shuffle(len(train_idx), seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size)
        .prefetch(2)
    )
    val_ds = tf.data.Dataset.from_tensor_slices((x[val_idx], y_onehot[val_idx])).batch(128)
    steps = int(np.ceil(len(train_idx) / config.batch_size))

    class Hook(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            reporter.start_epoch(epoch)

        def on_epoch_end(self, epoch, logs=None):
            reporter.end_epoch(epoch, logs or {}, self.model)

    fit_phases(model, config, train_ds, steps, initial_epoch, validation=val_ds, callbacks=[Hook()])


def fit_phases(model, config: TrainConfig, data, steps: int, initial_epoch: int = 0, validation=None, callbacks=()) -> None:
    """One Keras ``fit`` per phase from ``initial_epoch`` on. A phase this call begins gets its trainable layers
    and a fresh optimizer; a phase resumed from a checkpoint keeps the checkpoint's (Keras saves both)."""
    for span in phases.spans(config):
        if span.end <= initial_epoch:
            continue
        if span.start >= initial_epoch:
            compile_for(model, config, span, steps)
        model.fit(data, validation_data=validation, epochs=span.end, initial_epoch=max(span.start, initial_epoch), verbose=0, callbacks=list(callbacks))
