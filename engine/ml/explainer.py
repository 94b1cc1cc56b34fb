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

    def __init__(self, model, flip: bool = False):
        """``flip``: the logits are averaged over each scan and its mirror image (:mod:`engine.ml.test_time`);
        the heat map and the features stay those of the scan as uploaded, the map for the averaged answer."""
        import keras
        import tensorflow as tf

        gap = _pooling(model)
        self.graph = keras.Model(model.inputs, [gap.input, gap.output, model.output])
        self.flip = flip

        @tf.function(reduce_retracing=True)
        def run(x):
            n = tf.shape(x)[0]
            views = tf.concat([x, tf.reverse(x, axis=[2])], axis=0) if flip else x
            with tf.GradientTape() as tape:
                maps, feats, logits = self.graph(views, training=False)
                answer = (logits[:n] + logits[n:]) / 2 if flip else logits
                top = tf.argmax(answer, axis=1)
                score = tf.gather(logits[:n], top, axis=1, batch_dims=1)
            grads = tape.gradient(score, maps)[:n]
            weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
            cam = tf.nn.relu(tf.reduce_sum(weights * maps[:n], axis=-1))
            return cam, feats[:n], answer

        self._run = run

    pooling = staticmethod(_pooling)

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cams [n, h, w] in 0..1, features [n, d], logits [n, classes]) for a uint8 batch."""
        import tensorflow as tf

        cam, feats, logits = self._run(tf.convert_to_tensor(batch))
        cam = cam.numpy()
        peak = cam.reshape(len(cam), -1).max(axis=1).reshape(-1, 1, 1)
        return cam / np.maximum(peak, 1e-8), feats.numpy(), logits.numpy()
