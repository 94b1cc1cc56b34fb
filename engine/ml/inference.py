"""Loading a registered model and turning images into calibrated class probabilities."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np

from engine.data.pixels import prepare_image
from engine.errors import InputError
from engine.hdfs.storage import Storage
from engine.ml import registry
from engine.ml.calibration import calibrated_probabilities
from engine.ml.test_time import keras_logits, read_logits
from engine.ml.tfsetup import import_tensorflow
from engine.settings import Settings

logger = logging.getLogger(__name__)


class LoadedModel:
    """A Keras model with its card; ``predict`` returns calibrated probabilities."""

    def __init__(self, folder: Path):
        import_tensorflow()
        import keras

        self.folder = folder
        self.card = registry.read_card(folder)
        registry.verify(folder, self.card)
        try:
            self.model = keras.models.load_model(folder / "model.keras", compile=False)
        except Exception as err:  # Keras raises ValueError, OSError or its own types for a foreign file
            raise InputError(
                f"{folder / 'model.keras'} cannot be loaded as a model of this project ({type(err).__name__}); "
                "give a model id from `python -m engine models list` or a folder written by `train`."
            ) from err
        shape = self.model.input_shape
        self.size = int(self.card["input"]["size"])
        self.channels = int(self.card["input"].get("channels", 1))
        if tuple(shape[1:]) != (self.size, self.size, self.channels) or self.model.output_shape[-1] != len(self.card["classes"]):
            raise InputError(
                f"The model in {folder} expects {shape[1:]} -> {self.model.output_shape[-1]} classes, which does not "
                "match its card; it is not a compatible model."
            )
        self.temperature = float(self.card.get("temperature", 1.0))
        # Test-time flip (engine.ml.test_time): its temperature was fitted on averaged logits, so it is the card's call.
        self.flip = bool(self.card["input"].get("test_time_flip", False))
        self.rim = float(self.card["input"].get("test_time_rim", 1.0))  # 1: no rim
        self._fn = None

    @property
    def model_id(self) -> str:
        return self.card["model_id"]

    def prepare(self, content: bytes) -> np.ndarray:
        return prepare_image(content, self.size, self.channels)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw logits for a uint8 batch (n, size, size, channels), through a compiled function; read in a black
        rim and averaged with the mirror image's when the card says so."""
        if self._fn is None:
            self._fn = keras_logits(self.model, 64)
        return read_logits(self._fn, batch, self.flip, self.rim)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return calibrated_probabilities(self.logits(batch), self.temperature)


@functools.lru_cache(maxsize=4)
def _load(folder: str) -> LoadedModel:
    return LoadedModel(Path(folder))


def load_model(settings: Settings, storage: Storage | None, model_id: str | None = None) -> LoadedModel:
    """The model ``model_id`` (default: the promoted or shipped one), cached per process."""
    return _load(str(registry.fetch(settings, storage, model_id)))
