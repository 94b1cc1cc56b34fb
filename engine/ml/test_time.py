"""Test-time flip: the model reads a scan and its left-right mirror image and the two logits are averaged.

Tumours occur in either hemisphere and training already mirrors scans at random, so the mirror is as valid a
view of the same anatomy as the scan itself; averaging two views cancels part of the model's noise. Logits, not
probabilities, are averaged so the temperature fitted on averaged validation logits calibrates the result.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# Read in a thin black rim (the scan shrunk to this share of its side, centred on black): training views nearly
# always have black at an edge (rotation corners, translation strips, zoom-out padding), an exported scan often
# has none, and a scan whose head touches the frame is what the model answers worst (the crop shifts). Measured
# on cross-validation folds, paired on the same models (docs/model.md, "A thin black rim").
RIM_SCALE = 0.94


def rimmed(batch: np.ndarray, scale: float = RIM_SCALE) -> np.ndarray:
    """A uint8 batch (n, height, width, channels) shrunk to ``scale`` of each side (bilinear) and centred on black;
    the batch itself for a scale of 1 or more."""
    if scale >= 1.0 or not len(batch):
        return batch
    n, height, width, channels = batch.shape
    h, w = round(height * scale), round(width * scale)
    top, left = (height - h) // 2, (width - w) // 2
    out = np.zeros_like(batch)
    for i in range(n):
        for c in range(channels):
            out[i, top : top + h, left : left + w, c] = np.asarray(Image.fromarray(batch[i, :, :, c]).resize((w, h), Image.BILINEAR))
    return out


def read_logits(logits_of, batch: np.ndarray, flip: bool, rim: float = 1.0) -> np.ndarray:
    """A batch's logits read as a model's card says: in a black rim of ``rim`` (1: none), and averaged with the
    mirror image's when ``flip``."""
    views = rimmed(batch, rim)
    return flip_averaged(logits_of, views) if flip else logits_of(views)


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


def how_read(rim: float) -> str:
    """The words for a reading scale: "in a thin black rim" below 1, else "as uploaded"."""
    return "in a thin black rim" if float(rim) < 1.0 else "as uploaded"


def reading_sentence(card_input: dict) -> str:
    """How a model with this card's ``input`` reads a scan, as a sentence for the page and the PDF ("" for once, as is)."""
    rim = float(card_input.get("test_time_rim", 1.0))
    if card_input.get("test_time_flip"):
        return f"The scan was read {how_read(rim)} and mirrored, the two readings averaged."
    return f"The scan was read {how_read(rim)}." if rim < 1.0 else ""
