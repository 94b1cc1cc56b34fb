"""What defines a training run: the mode and every hyperparameter, validated in one place (CLI, pages, jobs)."""

from __future__ import annotations

import dataclasses
from enum import StrEnum

from engine.data.pixels import DEFAULT_SIZE
from engine.errors import InputError
from engine.ml.models import PRETRAINED, Architecture, Augmentation


class TrainingMode(StrEnum):
    LOCAL = "local"  # plain Keras fit: the sequential baseline
    SYNCHRONOUS = "synchronous"  # Elephas SparkModel
    ASYNCHRONOUS = "asynchronous"  # Elephas AsynchronousSparkModel, locked parameter server
    HOGWILD = "hogwild"  # Elephas AsynchronousSparkModel, lock-free


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a training run; saved as config.json beside its outputs."""

    dataset: str  # HDFS dataset name (must be preprocessed at `size`)
    arch: str = Architecture.COMPACT  # compact | resnet50 | mobilenetv2
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
    # standard | wide (also zoom out to half size, brightness, contrast) | framing (zoom out only) | erasing (black patches)
    augmentation: str = Augmentation.STANDARD
    val_fraction: float = 0.1  # share of duplicate groups held out for validation
    seed: int = 42  # split, weights and augmentation
    frequency: str = "epoch"  # Elephas weight exchange: epoch | batch
    weights: str = "imagenet"  # resnet50 and mobilenetv2 only: imagenet | none | path to .weights.h5
    # Transfer learning (engine.ml.phases): epochs 1..freeze_epochs train only the head, the rest fine-tune.
    freeze_epochs: int = 0  # epochs with the pretrained base frozen; 0 = one phase, as plain training
    unfreeze: float | None = None  # share of the base's top layers fine-tuned after that; None: 0.2, or 1.0 with init_from
    finetune_learning_rate: float = 1e-4  # peak rate of the fine-tuning phase (cosine decay, no warm-up)
    init_from: str = ""  # a registered model id to start from (its architecture and input size are kept)
    threads: int = 0  # TensorFlow threads per worker; 0 = cores / workers
    limit: int = 0  # use only the first N images (tests, demos); 0 = all

    def validate(self) -> TrainConfig:
        if self.arch not in set(Architecture):
            raise InputError(f"--arch {self.arch!r} is unknown; use one of {[str(a) for a in Architecture]}.")
        if self.augmentation not in set(Augmentation):
            raise InputError(f"--augmentation {self.augmentation!r} is unknown; use one of {[str(a) for a in Augmentation]}.")
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
        if self.freeze_epochs and self.arch not in PRETRAINED and not self.init_from:
            raise InputError("--freeze-epochs needs a pretrained start to freeze: --arch resnet50, --arch mobilenetv2 or --init-from MODEL_ID.")
        if self.unfreeze is None:
            self.unfreeze = 1.0 if self.init_from else 0.2
        if not 0 < self.unfreeze <= 1:
            raise InputError(f"--unfreeze {self.unfreeze} must be a share of the layers, above 0 and at most 1.")
        return self
