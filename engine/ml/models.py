"""Model architectures: a compact CNN designed for a CPU (the default), and ResNet50 or MobileNetV2 transfer learning."""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path

from engine.classes import CLASSES
from engine.errors import EnvironmentProblem, InputError

logger = logging.getLogger(__name__)


class Architecture(StrEnum):
    COMPACT = "compact"
    RESNET50 = "resnet50"
    MOBILENETV2 = "mobilenetv2"


PRETRAINED = {Architecture.RESNET50, Architecture.MOBILENETV2}  # a base that starts from ImageNet weights


class Augmentation(StrEnum):
    STANDARD = "standard"  # what the shipped model was trained with
    WIDE = "wide"  # also zoomed out to half size, brighter or darker, stronger contrast: what uploads do to scans
    # standard, but zoomed out as far as wide: only the framing shortcut (docs/model.md) is taken away
    FRAMING = "framing"
    # standard, plus a black patch over a random 2-33% of half the scans: occlusion, as crops, text and
    # banners do, and a regulariser the issue names among the levers for accuracy
    ERASING = "erasing"


# Keras: a positive factor zooms out (pads with black), a negative one zooms in.
ZOOM = {Augmentation.STANDARD: 0.1, Augmentation.WIDE: (-0.2, 0.5), Augmentation.FRAMING: (-0.1, 0.5)}
ZOOM[Augmentation.ERASING] = ZOOM[Augmentation.STANDARD]  # erasing changes nothing else of the standard recipe


def augmentation(seed: int = 0, kind: str = Augmentation.STANDARD):
    """Random flips, small rotations, zooms, shifts and contrast changes: active in training only. ``wide`` adds
    what the upload shifts of `benchmark refusal` showed the model is weakest on: padding (zoom out) and gamma
    (approximated by brightness and contrast, Keras has no gamma layer). ``framing`` adds the zoom-out alone,
    ``erasing`` a black rectangle over half the scans."""
    import keras
    from keras import layers

    wide = kind == Augmentation.WIDE
    zoom = ZOOM[Augmentation(kind)]
    steps = [
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomRotation(0.05, fill_mode="constant", seed=seed),
        layers.RandomZoom(zoom, fill_mode="constant", seed=seed),
        layers.RandomTranslation(0.05, 0.05, fill_mode="constant", seed=seed),
        layers.RandomContrast(0.35 if wide else 0.15, seed=seed),
    ]
    if wide:
        steps.append(layers.RandomBrightness(0.15, value_range=(0.0, 1.0), seed=seed))
    if kind == Augmentation.ERASING:  # half the scans; the patch's sides are each 14-57% of the scan's
        steps.append(layers.RandomErasing(factor=(0.5, 0.5), fill_value=0.0, value_range=(0.0, 1.0), seed=seed))
    return keras.Sequential(steps, name="augment")


def build_compact(size: int = 128, channels: int = 1, seed: int = 0, augment: bool = True, kind: str = Augmentation.STANDARD, width: float = 1.0):
    """A 4-stage CNN (~1.2 M parameters) whose stride-2 stem makes it ~3x cheaper than a plain VGG-style net.
    ``width`` scales every stage's filters (1.0: the shipped network; parameters grow with its square).

    Stages of two 3x3 convolutions with BatchNorm (momentum 0.9 so its statistics keep up with the
    weights early on), max-pooling between stages, global average pooling and dropout before the head.
    Returns logits (no softmax) so temperature scaling can calibrate them.
    """
    import keras
    from keras import layers

    inputs = keras.Input((size, size, channels), name="image")
    x = layers.Rescaling(1 / 255.0)(inputs)
    if augment:
        x = augmentation(seed, kind)(x)

    def conv(x, filters, kernel=3, strides=1):
        x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        return layers.Activation("relu")(x)

    x = conv(x, round(32 * width), kernel=5, strides=2)
    for stage, filters in enumerate(round(f * width) for f in (32, 64, 128, 256)):
        x = conv(x, filters)
        x = conv(x, filters)
        if stage < 3:
            x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3, seed=seed)(x)
    logits = layers.Dense(len(CLASSES), name="logits")(x)
    return keras.Model(inputs, logits, name="compact_cnn")


def _pretrained_base(factory, name: str, size: int, weights: str | None):
    """A Keras application's base, no top and no pooling: the outer model's own pooling layer lets Grad-CAM and the
    refusal gate (engine.clinic.gradcam) reach the base's last feature map, which a nested model's inner layers do
    not expose. ``weights``: 'imagenet' (Keras cache or download), a path to a saved base, or None."""
    if weights and weights != "imagenet" and not Path(weights).is_file():
        raise InputError(f"Weights file {weights!r} does not exist; give a path to a {name} base's .weights.h5 or use --weights none.")
    try:
        return factory(include_top=False, weights=weights, input_shape=(size, size, 3), pooling=None)
    except Exception as err:  # download errors surface as URLError, OSError or ValueError depending on the stage
        if weights == "imagenet":
            raise EnvironmentProblem(
                f"ImageNet weights for {name} are not in the Keras cache and cannot be downloaded "
                f"(this machine seems offline); use --weights none or --weights PATH.weights.h5 (a {name} base saved by Keras)."
            ) from err
        raise


def build_resnet50(size: int = 224, channels: int = 3, weights: str | None = "imagenet", freeze_base: bool = True):
    """Keras ResNet50 with a new head. ``weights``: 'imagenet' (Keras cache or download), a file path, or None.

    Raises:
        EnvironmentProblem: ImageNet weights are not cached and cannot be downloaded (offline).
    """
    import keras
    from keras import layers

    if channels != 3:
        raise InputError("ResNet50 needs RGB input; preprocess with 3 channels or use --arch compact.")
    base = _pretrained_base(keras.applications.ResNet50, "ResNet50", size, weights)
    base.trainable = not freeze_base
    inputs = keras.Input((size, size, 3), name="image")
    x = augmentation()(inputs)
    x = keras.applications.resnet50.preprocess_input(x)
    x = base(x, training=False)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(0.3)(x)
    logits = layers.Dense(len(CLASSES), name="logits")(x)
    return keras.Model(inputs, logits, name="resnet50_transfer")


def build_mobilenetv2(size: int = 128, channels: int = 1, weights: str | None = "imagenet", seed: int = 0, kind: str = Augmentation.STANDARD):
    """Keras MobileNetV2 (alpha 1.0, 2.3 M parameters: a tenth of ResNet50's cost, so it trains and answers on
    2 cores) with a new head, reading the grey scans as they are prepared for the compact CNN (one channel, copied
    into three inside the model). ``weights``: 'imagenet' (Keras cache or download), a path to a base's
    ``.weights.h5`` (docs/experiments/mobilenet_from_npm.py makes one from an npm package), or None.

    Raises:
        EnvironmentProblem: ImageNet weights are not cached and cannot be downloaded (offline).
    """
    import keras
    from keras import layers

    base = _pretrained_base(keras.applications.MobileNetV2, "MobileNetV2", size, weights)
    for layer in base.layers:  # Keras' 0.999 leaves ImageNet's statistics in for thousands of steps (val 32% after an epoch)
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = 0.9  # as the compact CNN's: the statistics keep up with the weights being fine-tuned
    inputs = keras.Input((size, size, channels), name="image")
    x = layers.Rescaling(1 / 255.0)(inputs)
    x = augmentation(seed, kind)(x)
    if channels == 1:
        x = layers.Concatenate(name="grey_to_rgb")([x, x, x])
    x = layers.Rescaling(2.0, offset=-1.0)(x)  # MobileNetV2's input range, -1..1
    # Called without training=False: the whole base is fine-tuned, and its BatchNorm statistics move from
    # ImageNet photographs to MRI slices with it. No pooling inside the base, so Grad-CAM reaches its last map.
    x = base(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(0.3, seed=seed)(x)
    logits = layers.Dense(len(CLASSES), name="logits")(x)
    return keras.Model(inputs, logits, name="mobilenetv2_transfer")


def unfreeze_top(model, layers_to_unfreeze: int = 30) -> None:
    """Fine-tuning stage: unfreeze the top ``layers_to_unfreeze`` layers of the ResNet base (BatchNorm stays frozen)."""
    from keras import layers

    base = next(layer for layer in model.layers if layer.name.startswith("resnet50"))
    base.trainable = True
    for layer in base.layers[:-layers_to_unfreeze]:
        layer.trainable = False
    for layer in base.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False


def save_for_inference(model, path: Path) -> None:
    """Weights and architecture without the optimizer state: a third of the size, all inference needs."""
    import keras

    slim = keras.models.clone_model(model)
    slim.set_weights(model.get_weights())
    slim.save(path)
