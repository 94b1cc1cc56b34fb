"""Test-time flip: the model reads a scan and its left-right mirror image and the two logits are averaged.

Tumours occur in either hemisphere and training already mirrors scans at random, so the mirror is as valid a
view of the same anatomy as the scan itself; averaging two views cancels part of the model's noise. Logits, not
probabilities, are averaged so the temperature fitted on averaged validation logits calibrates the result.
"""

from __future__ import annotations

import numpy as np


def mirrored(batch: np.ndarray) -> np.ndarray:
    """A batch (n, height, width, channels) mirrored left-right."""
    return batch[:, :, ::-1]


def flip_averaged(logits_of, batch: np.ndarray, plain: np.ndarray | None = None) -> np.ndarray:
    """Logits averaged over each scan and its mirror image. ``logits_of(batch)``: a batch's logits (the clinic's
    compiled model, or a fold's checkpoint); ``plain``: the scans' own logits if already known."""
    own = logits_of(batch) if plain is None else plain
    return (own + logits_of(np.ascontiguousarray(mirrored(batch)))) / 2


def keras_logits(model, size: int = 128):
    """A function of a uint8 batch to a Keras model's logits, compiled once, run ``size`` scans at a time."""
    import tensorflow as tf

    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def logits_of(x: np.ndarray) -> np.ndarray:
        if not len(x):
            return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
        return np.concatenate([forward(tf.convert_to_tensor(x[i : i + size])).numpy() for i in range(0, len(x), size)])

    return logits_of
