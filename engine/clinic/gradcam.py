"""Grad-CAM heat maps drawn over the scan (the maps themselves come from :class:`engine.ml.explainer.Explainer`)."""

from __future__ import annotations

import numpy as np
from PIL import Image


def overlay(grey: Image.Image, cam: np.ndarray, opacity: float = 0.45) -> Image.Image:
    """The scan in grey with the heat map (jet-like colours) blended on top."""
    heat = Image.fromarray((cam * 255).astype(np.uint8)).resize(grey.size, Image.Resampling.BILINEAR)
    h = np.asarray(heat, dtype=np.float32) / 255.0
    rgb = np.stack([np.clip(1.5 - abs(4 * h - 3), 0, 1), np.clip(1.5 - abs(4 * h - 2), 0, 1), np.clip(1.5 - abs(4 * h - 1), 0, 1)], -1)
    base = np.asarray(grey.convert("RGB"), dtype=np.float32) / 255.0
    alpha = opacity * np.clip(h * 1.5, 0, 1)[..., None]
    return Image.fromarray(((base * (1 - alpha) + rgb * alpha) * 255).astype(np.uint8))
