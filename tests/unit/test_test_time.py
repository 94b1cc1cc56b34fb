"""Test-time reading: the thin black rim matches what training views look like at their edges, and the clinic's
one-pass Explainer reads a scan exactly as the cross-validation's and the loader's logits do."""

import numpy as np
import pytest

from engine.ml.test_time import RIM_SCALE, read_logits, reading_sentence, rimmed

pytestmark = pytest.mark.unit


def test_the_standard_training_views_nearly_always_have_black_at_their_edges():
    # why the rim: a flat grey "scan" through the standard augmentation (rotation corners, translation, zoom out)
    from engine.ml.models import augmentation

    views = np.asarray(augmentation(seed=1)(np.full((64, 128, 128, 1), 0.5, dtype="float32"), training=True))
    edges = np.concatenate([views[:, 0, :, 0], views[:, -1, :, 0], views[:, :, 0, 0], views[:, :, -1, 0]], axis=1)
    assert (edges < 0.02).any(axis=1).mean() > 0.9


def test_a_rimmed_scan_is_the_scan_shrunk_and_centred_on_black():
    batch = np.full((2, 128, 128, 1), 200, dtype=np.uint8)
    out = rimmed(batch, 0.94)
    assert out.shape == batch.shape and out.dtype == np.uint8
    inner = round(128 * 0.94)  # 120: a 4 px black rim on each side
    assert (out[:, :4] == 0).all() and (out[:, :, -4:] == 0).all()
    assert (out[:, 4 : 4 + inner, 4 : 4 + inner] == 200).all()
    assert rimmed(batch, 1.0) is batch


def test_read_logits_rims_then_averages_with_the_mirror():
    batch = np.random.default_rng(0).integers(0, 255, (3, 32, 32, 1), dtype=np.uint8)

    def left_minus_right(x):  # a "model" that sees which side is brighter: the mirror cancels it
        x = x.astype(np.float64)
        return np.stack([x[:, :, :16].mean((1, 2, 3)) - x[:, :, 16:].mean((1, 2, 3)), x.mean((1, 2, 3))], axis=1)

    once = read_logits(left_minus_right, batch, flip=False)
    both = read_logits(left_minus_right, batch, flip=True, rim=0.75)
    assert np.allclose(both[:, 0], 0) and not np.allclose(once[:, 0], 0)
    assert np.allclose(both[:, 1], left_minus_right(rimmed(batch, 0.75))[:, 1])


def test_the_explainer_answers_with_the_rimmed_reading_and_explains_the_scan_as_uploaded():
    import keras

    from engine.ml.explainer import Explainer
    from engine.ml.test_time import keras_logits

    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 1))
    maps = keras.layers.Conv2D(4, 3, activation="relu")(keras.layers.Rescaling(1 / 255)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(maps)))
    batch = np.random.default_rng(1).integers(0, 255, (5, 32, 32, 1), dtype=np.uint8)
    logits_of = keras_logits(model)
    cams, feats, logits = Explainer(model, flip=True, rim=RIM_SCALE)(batch)
    assert np.allclose(logits, read_logits(logits_of, batch, True, RIM_SCALE), atol=1e-5)
    plain_cams, plain_feats, _ = Explainer(model, flip=True)(batch)
    assert np.allclose(feats, plain_feats, atol=1e-5), "the refusal statistics read the scan as uploaded"
    assert cams.shape == plain_cams.shape


def test_the_reading_is_said_as_the_card_has_it():
    assert reading_sentence({}) == ""
    assert "as uploaded and mirrored" in reading_sentence({"test_time_flip": True})
    assert "thin black rim and mirrored" in reading_sentence({"test_time_flip": True, "test_time_rim": RIM_SCALE})
