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


def flip_averaged_logits(model, batch: np.ndarray, plain: np.ndarray | None = None, size: int = 128) -> np.ndarray:
    """Logits averaged over each scan and its mirror image; ``plain``: the scans' own logits if already known."""
    import tensorflow as tf

    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def logits(x: np.ndarray) -> np.ndarray:
        return np.concatenate([forward(tf.convert_to_tensor(x[i : i + size])).numpy() for i in range(0, len(x), size)])

    if not len(batch):
        return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
    own = logits(batch) if plain is None else plain
    return (own + logits(np.ascontiguousarray(mirrored(batch)))) / 2
