"""After Elephas exchanges weights, BatchNorm's moving statistics are re-estimated from training images."""

import numpy as np

from engine.ml.elephas_driver import recalibrate_batch_norm


def test_moving_statistics_become_the_mean_over_the_sampled_batches():
    import keras

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.BatchNormalization(momentum=0.9)(inputs))
    bn = model.layers[-1]
    bn.moving_mean.assign([100.0, -100.0, 0.0])  # what an asynchronous exchange can leave behind
    bn.moving_variance.assign([1e4, 1e-6, 50.0])
    x = np.random.default_rng(0).normal([3.0, -1.0, 0.5], [2.0, 0.5, 1.0], size=(2000, 3)).astype("float32")
    recalibrate_batch_norm(model, x, np.arange(2000), seed=1, batch_size=64, batches=8)
    assert np.allclose(bn.moving_mean.numpy(), [3.0, -1.0, 0.5], atol=0.25)
    assert np.allclose(bn.moving_variance.numpy(), [4.0, 0.25, 1.0], rtol=0.2)
    assert bn.momentum == 0.9  # training afterwards keeps the layer's own momentum
