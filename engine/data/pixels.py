"""The one per-image preprocessing function, shared by every path (sequential, pool, Spark RDD, Spark Arrow).

It runs on Spark executors too, so it imports only numpy and Pillow and closes over nothing.
"""

from __future__ import annotations

import io

import numpy as np

DEFAULT_SIZE = 128  # px a side: enough detail for tumours, small enough for a CPU
LOW_PERCENTILE, HIGH_PERCENTILE = 1.0, 99.5  # intensity stretch: MRI grey levels have no absolute scale


def prepare_image(content: bytes, size: int = DEFAULT_SIZE, channels: int = 1) -> np.ndarray:
    """Decode, convert to grey (or RGB), resize to ``size`` x ``size``, stretch intensities to 0-255.

    Returns a uint8 array of shape (size, size, channels); the model divides by 255.
    Raises OSError/ValueError for bytes that do not decode (callers record them).
    """
    from PIL import Image

    return prepare_pil(upright(Image.open(io.BytesIO(content))), size, channels)


def upright(img):
    """``img`` turned in place as its EXIF orientation tag tells every viewer to show it; a damaged EXIF block
    leaves it as stored (the pixels are still a scan). Returns ``img``."""
    from PIL import ImageOps

    try:
        ImageOps.exif_transpose(img, in_place=True)
    except Exception:  # noqa: BLE001 - Pillow's EXIF parser raises struct, key and value errors alike
        pass
    return img


def prepare_pil(img, size: int = DEFAULT_SIZE, channels: int = 1) -> np.ndarray:
    """``prepare_image`` for an already decoded PIL image."""
    from PIL import Image

    img = img.convert("L" if channels == 1 else "RGB")
    img = img.resize((size, size), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.float32)
    lo, hi = np.percentile(arr, (LOW_PERCENTILE, HIGH_PERCENTILE))
    if hi - lo < 1e-3:  # a blank image: keep it blank rather than divide by zero
        out = np.zeros_like(arr)
    else:
        out = np.clip((arr - lo) * (255.0 / (hi - lo)), 0, 255)
    out = out.astype(np.uint8)
    return out.reshape(size, size, channels)


def prepare_or_error(content: bytes, size: int, channels: int) -> tuple[bytes | None, str | None]:
    """``prepare_image`` as raw bytes, or (None, reason) for an image that does not decode."""
    try:
        return prepare_image(content, size, channels).tobytes(), None
    except (OSError, ValueError, SyntaxError) as err:
        return None, f"cannot decode: {err}"
