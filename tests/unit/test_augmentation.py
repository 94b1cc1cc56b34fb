"""The training augmentation recipes: wide zooms out further and changes brightness, framing only zooms out further,
erasing blacks out a rectangle; an unknown one is refused."""

import numpy as np
import pytest

from engine.errors import InputError
from engine.ml.config import TrainConfig
from engine.ml.models import Augmentation, augmentation


def test_an_unknown_augmentation_is_refused():
    with pytest.raises(InputError, match="--augmentation 'heavy' is unknown"):
        TrainConfig(dataset="d", augmentation="heavy").validate()
    assert TrainConfig(dataset="d", augmentation="wide").validate().augmentation == Augmentation.WIDE


def test_wide_and_framing_zoom_out_to_black_borders_and_standard_stays_near_full_size():
    from keras import layers

    image = np.ones((32, 64, 64, 1), dtype="float32") * 0.5  # a flat grey "scan": any black is padding
    black, brightness = {}, {}
    for kind in Augmentation:
        steps = augmentation(seed=3, kind=kind)
        zoom = next(layer for layer in steps.layers if isinstance(layer, layers.RandomZoom))
        black[kind] = float((np.asarray(zoom(image, training=True)) < 0.02).mean())
        brightness[kind] = any(isinstance(layer, layers.RandomBrightness) for layer in steps.layers)
        assert np.asarray(steps(image, training=False)).tolist() == image.tolist(), "inference sees the image as it is"
    assert black[Augmentation.WIDE] > 0.1 > black[Augmentation.STANDARD]
    assert black[Augmentation.FRAMING] > 0.1
    assert black[Augmentation.ERASING] == black[Augmentation.STANDARD], "erasing zooms as standard does"
    assert brightness == {Augmentation.STANDARD: False, Augmentation.WIDE: True, Augmentation.FRAMING: False, Augmentation.ERASING: False}


def test_erasing_blacks_out_one_rectangle_on_about_half_the_scans_in_training_only():
    from keras import layers

    image = np.ones((256, 32, 32, 1), dtype="float32") * 0.5
    steps = augmentation(seed=5, kind=Augmentation.ERASING)
    erase = next(layer for layer in steps.layers if isinstance(layer, layers.RandomErasing))
    assert not any(isinstance(layer, layers.RandomErasing) for layer in augmentation(seed=5).layers)
    erased = (np.asarray(erase(image, training=True)) == 0).mean(axis=(1, 2, 3))
    assert 0.35 < (erased > 0).mean() < 0.65
    assert 0.02 < erased[erased > 0].mean() < 0.35
    assert np.asarray(steps(image, training=False)).tolist() == image.tolist()
