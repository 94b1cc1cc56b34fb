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

    def __init__(self, model, flip: bool = False, rim: float = 1.0):
        """``flip``: the logits are averaged over each scan and its mirror image; ``rim`` below 1: the scans are
        read in a thin black rim (:mod:`engine.ml.test_time`). The heat map and the features stay those of the
        scan as uploaded (the refusal statistics were fitted on such features), the map for the answer read."""
        import keras
        import tensorflow as tf

        gap = _pooling(model)
        self.graph = keras.Model(model.inputs, [gap.input, gap.output, model.output])
        self.flip, self.rim = flip, rim

        @tf.function(reduce_retracing=True)
        def run(x, read):
            n = tf.shape(x)[0]
            reads = [read, tf.reverse(read, axis=[2])] if flip else [read]
            views = tf.concat([x, *reads], axis=0) if rim < 1.0 else tf.concat(reads, axis=0)
            with tf.GradientTape() as tape:
                maps, feats, logits = self.graph(views, training=False)
                read_logits = logits[n:] if rim < 1.0 else logits
                answer = (read_logits[:n] + read_logits[n:]) / 2 if flip else read_logits
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

        from engine.ml.test_time import rimmed

        x = tf.convert_to_tensor(batch)
        cam, feats, logits = self._run(x, tf.convert_to_tensor(rimmed(batch, self.rim)) if self.rim < 1.0 else x)
        cam = cam.numpy()
        peak = cam.reshape(len(cam), -1).max(axis=1).reshape(-1, 1, 1)
        return cam / np.maximum(peak, 1e-8), feats.numpy(), logits.numpy()
