"""Grad-CAM heat maps and the feature-space distance used to refuse inputs that are not brain MRI slices."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

OOD_FILE = "ood.json"
OOD_QUANTILE = 0.995  # refuse beyond the distance that 99.5% of held-out real scans stay within


def _pooling(model):
    """The global-average-pooling layer whose input, the last feature map, is Grad-CAM's target.

    Its input is taken as a tensor of this model's graph: for ResNet50 the map is a nested model's output,
    and that model's own ``.output`` belongs to its inner graph, not to this one.
    """
    from keras import layers

    return next(layer for layer in model.layers if isinstance(layer, layers.GlobalAveragePooling2D))


class Explainer:
    """Grad-CAM and penultimate features of a Keras model, compiled once."""

    def __init__(self, model):
        import keras
        import tensorflow as tf

        gap = _pooling(model)
        self.graph = keras.Model(model.inputs, [gap.input, gap.output, model.output])

        @tf.function(reduce_retracing=True)
        def run(x):
            with tf.GradientTape() as tape:
                maps, feats, logits = self.graph(x, training=False)
                top = tf.argmax(logits, axis=1)
                score = tf.gather(logits, top, axis=1, batch_dims=1)
            grads = tape.gradient(score, maps)
            weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
            cam = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1))
            return cam, feats, logits

        self._run = run

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cams [n, h, w] in 0..1, features [n, d], logits [n, classes]) for a uint8 batch."""
        import tensorflow as tf

        cam, feats, logits = self._run(tf.convert_to_tensor(batch))
        cam = cam.numpy()
        peak = cam.reshape(len(cam), -1).max(axis=1).reshape(-1, 1, 1)
        return cam / np.maximum(peak, 1e-8), feats.numpy(), logits.numpy()


def overlay(grey: Image.Image, cam: np.ndarray, opacity: float = 0.45) -> Image.Image:
    """The scan in grey with the heat map (jet-like colours) blended on top."""
    heat = Image.fromarray((cam * 255).astype(np.uint8)).resize(grey.size, Image.Resampling.BILINEAR)
    h = np.asarray(heat, dtype=np.float32) / 255.0
    rgb = np.stack([np.clip(1.5 - abs(4 * h - 3), 0, 1), np.clip(1.5 - abs(4 * h - 2), 0, 1), np.clip(1.5 - abs(4 * h - 1), 0, 1)], -1)
    base = np.asarray(grey.convert("RGB"), dtype=np.float32) / 255.0
    alpha = opacity * np.clip(h * 1.5, 0, 1)[..., None]
    return Image.fromarray(((base * (1 - alpha) + rgb * alpha) * 255).astype(np.uint8))


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


# ------------------------------------------------------------------ out-of-distribution
def fit_ood(features_train: np.ndarray, labels_train: np.ndarray, features_heldout: np.ndarray, quantile: float = OOD_QUANTILE) -> dict:
    """Class means and a shared, shrunk covariance of training features; the threshold from held-out real scans."""
    classes = np.unique(labels_train)
    means = np.stack([features_train[labels_train == c].mean(axis=0) for c in classes])
    centred = features_train - means[np.searchsorted(classes, labels_train)]
    cov = np.cov(centred, rowvar=False)
    cov = 0.9 * cov + 0.1 * np.trace(cov) / len(cov) * np.eye(len(cov))  # shrinkage: stable with few samples per dim
    precision = np.linalg.inv(cov)
    heldout = mahalanobis(features_heldout, means, precision)
    return {"means": means.tolist(), "precision": precision.tolist(), "threshold": float(np.quantile(heldout, quantile)),
            "quantile": quantile, "heldout_median": float(np.median(heldout))}


def mahalanobis(features: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Distance to the nearest class mean under the shared covariance."""
    diffs = features[:, None, :] - means[None, :, :]
    d2 = np.einsum("nkd,de,nke->nk", diffs, precision, diffs)
    return np.sqrt(np.maximum(d2.min(axis=1), 0))


def save_ood(folder: Path, stats: dict) -> None:
    (folder / OOD_FILE).write_text(json.dumps(stats))


def load_ood(folder: Path) -> dict | None:
    path = folder / OOD_FILE
    if not path.exists():
        return None
    stats = json.loads(path.read_text())
    stats["means"] = np.asarray(stats["means"])
    stats["precision"] = np.asarray(stats["precision"])
    return stats
