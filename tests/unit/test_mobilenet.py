"""MobileNetV2 transfer learning: grey scans in, four logits out, a Grad-CAM map, and weights from a file (offline)."""

import numpy as np
import pytest

from engine.errors import InputError
from engine.ml.models import build_mobilenetv2

SIZE = 64


@pytest.fixture(scope="module")
def base_weights(tmp_path_factory):
    """A MobileNetV2 base with random weights, saved by Keras: what the converted npm file or a user's ImageNet file look like."""
    import keras

    path = tmp_path_factory.mktemp("weights") / "mobilenetv2-random.weights.h5"
    base = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(SIZE, SIZE, 3))
    base.save_weights(path)
    return path, base.get_layer("Conv1").get_weights()[0]


def test_grey_scans_are_read_through_the_loaded_base_with_a_grad_cam_map(base_weights):
    from engine.ml.explainer import Explainer

    path, first_kernel = base_weights
    model = build_mobilenetv2(SIZE, 1, str(path))
    assert model.input_shape == (None, SIZE, SIZE, 1) and model.output_shape == (None, 4)
    base = model.get_layer("mobilenetv2_1.00_64")
    assert np.array_equal(base.get_layer("Conv1").get_weights()[0], first_kernel)
    assert {layer.momentum for layer in base.layers if "BN" in layer.name or "bn" in layer.name} == {0.9}  # statistics keep up
    scans = np.random.default_rng(0).integers(0, 256, (3, SIZE, SIZE, 1), dtype=np.uint8)
    cams, feats, logits = Explainer(model)(scans)
    assert cams.shape == (3, SIZE // 32, SIZE // 32) and feats.shape == (3, 1280) and logits.shape == (3, 4)
    assert np.isfinite(logits).all() and 0 <= cams.min() and cams.max() <= 1


def test_a_missing_weights_file_is_a_clear_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        build_mobilenetv2(SIZE, 1, str(tmp_path / "absent.weights.h5"))
