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


WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")  # 16-bit, 32-bit and float images


def to_grey(img):
    """``img`` as 8-bit grey the way a viewer shows it. A 16-bit, 32-bit or float export (PNG, TIFF) is stretched
    over its full range: Pillow's own conversion clips it, a 16-bit scan to near white and a 0-1 float one to
    black. Transparent pixels are black, as the dark frame around a scan is."""
    from PIL import Image

    if img.mode in WIDE_MODES:
        arr = np.nan_to_num(np.asarray(img, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = float(arr.min()), float(arr.max())
        scaled = (arr - lo) * (255.0 / (hi - lo)) if hi - lo > 1e-9 else np.zeros_like(arr)
        return Image.fromarray(scaled.astype(np.uint8), mode="L")
    if img.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", img.size, (0, 0, 0, 255))
        return Image.alpha_composite(background, img.convert("RGBA")).convert("L")
    return img.convert("RGB").convert("L") if img.mode in ("CMYK", "P", "YCbCr") else img.convert("L")


def prepare_pil(img, size: int = DEFAULT_SIZE, channels: int = 1) -> np.ndarray:
    """``prepare_image`` for an already decoded PIL image."""
    from PIL import Image

    img = to_grey(img) if channels == 1 or img.mode in WIDE_MODES else img
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
