"""Grad-CAM maps, penultimate features and logits of a Keras model in one compiled pass: what the clinic's
heat map and the refusal statistics both read."""

from __future__ import annotations

import numpy as np


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

    pooling = staticmethod(_pooling)

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cams [n, h, w] in 0..1, features [n, d], logits [n, classes]) for a uint8 batch."""
        import tensorflow as tf

        cam, feats, logits = self._run(tf.convert_to_tensor(batch))
        cam = cam.numpy()
        peak = cam.reshape(len(cam), -1).max(axis=1).reshape(-1, 1, 1)
        return cam / np.maximum(peak, 1e-8), feats.numpy(), logits.numpy()
