"""Training phases for transfer learning: which layers train in which epochs, at what learning rate.

Two-phase transfer, as the beginner's guide teaches it: first only the new head trains while the base stays
frozen (its features are good, a random head's gradients would wreck them), then the top of the base is
unfrozen and fine-tuned at a lower rate. BatchNorm layers stay frozen in both phases: with few images their
batch statistics are noisy, and a frozen BatchNorm also runs in inference mode (Keras 3), so the pretrained
statistics are kept. A run without ``freeze_epochs`` has one phase, as before.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import NamedTuple


class Phase(StrEnum):
    SINGLE = "single"  # one phase: every layer the architecture trains, from the first epoch
    FROZEN = "frozen"  # the base is frozen; only the head trains
    FINETUNE = "finetune"  # the top of the base trains too, at the fine-tuning rate


class Span(NamedTuple):
    phase: Phase
    start: int  # first epoch (0-based)
    end: int  # one past the last epoch


def spans(config) -> list[Span]:
    """The run's phases in order; two when ``freeze_epochs`` is set and leaves epochs to fine-tune."""
    if 0 < config.freeze_epochs < config.epochs:
        return [Span(Phase.FROZEN, 0, config.freeze_epochs), Span(Phase.FINETUNE, config.freeze_epochs, config.epochs)]
    if config.freeze_epochs >= config.epochs > 0 and config.freeze_epochs:
        return [Span(Phase.FROZEN, 0, config.epochs)]
    if config.init_from:  # adapting a trained model: every epoch at the gentle fine-tuning rate
        return [Span(Phase.FINETUNE, 0, config.epochs)]
    return [Span(Phase.SINGLE, 0, config.epochs)]


def phase_at(config, epoch: int) -> Phase:
    return next(s.phase for s in spans(config) if s.start <= epoch < s.end)


def learning_rate_at(config, epoch: int) -> float:
    """The per-epoch rate the Elephas workers get: the phase's cosine, with a warm-up in the first phase only."""
    span = next(s for s in spans(config) if s.start <= epoch < s.end)
    if span.phase == Phase.FINETUNE:
        progress = (epoch - span.start) / max(1, span.end - span.start)
        return config.finetune_learning_rate * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))
    # At most half the phase warms up: a short head-only phase still gets epochs at its peak rate.
    peak, warmup = config.learning_rate, min(config.warmup_epochs, (span.end - span.start) // 2)
    if epoch < warmup:
        return peak * (epoch + 1) / (warmup + 1)
    progress = (epoch - warmup) / max(1, span.end - warmup)
    return peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))


def keras_schedule(config, span: Span, steps_per_epoch: int):
    """The same shape per step for Keras' own fit: warm-up then cosine (first phase), cosine from the lower rate (fine-tuning)."""
    import keras

    total = max(1, (span.end - span.start) * steps_per_epoch)
    if span.phase == Phase.FINETUNE:
        return keras.optimizers.schedules.CosineDecay(initial_learning_rate=config.finetune_learning_rate, decay_steps=total, alpha=0.01)
    warmup = min(total // 2, config.warmup_epochs * steps_per_epoch)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate / 20, decay_steps=max(1, total - warmup), alpha=0.01, warmup_target=config.learning_rate, warmup_steps=warmup
    )


def _base(model):
    """The pretrained part: ResNet50's or MobileNetV2's nested model, or the whole network for a model adapted from the registry."""
    return next((layer for layer in model.layers if layer.name.startswith(("resnet50", "mobilenetv2_"))), model)


def _is_head(layer) -> bool:
    return layer.name == "logits"


def set_trainable(model, phase: Phase, unfreeze: float) -> None:
    """Set every layer's ``trainable`` flag for ``phase`` (call ``compile`` afterwards: Keras reads them there).

    FROZEN: only the head. FINETUNE: the head and the top ``unfreeze`` fraction of the base's weighted layers,
    BatchNorm excepted. SINGLE leaves the architecture's own flags alone.
    """
    from keras import layers

    if phase == Phase.SINGLE:
        return
    base = _base(model)
    model.trainable = True  # flags are set per layer below; the parents must not override them
    base.trainable = True
    # Layers with weights, bar the head and the augmentation block (its only variables are random-seed state).
    weighted = [layer for layer in base.layers if layer.weights and not _is_head(layer) and layer.name != "augment"]
    keep = 0 if phase == Phase.FROZEN else max(1, round(len(weighted) * unfreeze))
    top = set(id(layer) for layer in weighted[len(weighted) - keep :]) if keep else set()
    for layer in base.layers:
        if _is_head(layer):
            continue
        layer.trainable = id(layer) in top and not isinstance(layer, layers.BatchNormalization)
    for layer in model.layers:
        if _is_head(layer):
            layer.trainable = True


def trainable_share(model) -> float:
    """The share of the model's parameters that the current phase trains (reported per epoch)."""
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    total = sum(math.prod(w.shape) for w in model.weights)
    return trainable / total if total else 0.0
