"""Image checks shared by ingest and classification: decode fully, reject junk with a reason, hash."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import warnings

import imagehash
from PIL import Image, UnidentifiedImageError

from engine.data.pixels import to_grey, upright
from engine.errors import InputError

MAX_FILE_BYTES = 50 * 1024 * 1024  # a single slice is far smaller; larger is not a scan
MAX_PIXELS = 40_000_000  # about 6,300 px a side; beyond is a decompression bomb, not an MRI slice
MIN_SIDE, MAX_SIDE = 32, 8192
# A slice is about square (every training scan is); a 16:9 screenshot is 1.8:1 and a 32:9 one 3.6:1. A longer
# strip is several slices side by side or no scan at all, and squeezing it into the model's square answers nonsense.
MAX_ASPECT = 4.0
ACCEPTED_FORMATS = {"JPEG", "PNG", "BMP", "TIFF", "WEBP"}
PHASH_SIZE = 16  # 16x16 = 256-bit hash: 64-bit pHash cannot tell distinct MRI slices apart (see audit.py)

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    """What ingest records about a valid image."""

    width: int
    height: int
    mode: str
    format: str
    sha256: str
    phash: str  # 256-bit DCT perceptual hash (imagehash, hash_size=16), 64 hex digits


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def open_image(data: bytes, name: str = "the file") -> Image.Image:
    """Decode ``data`` completely, or raise InputError with a one-line reason.

    Catches: empty and over-size files, non-images (text, HTML, PDF renamed .jpg),
    truncated files, decompression bombs, implausible sizes.
    """
    if not data:
        raise InputError(f"{name} is empty (0 bytes).")
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{name} is {len(data) / 1e6:.0f} MB, more than the {MAX_FILE_BYTES // 1_000_000} MB limit for one scan.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
            fmt = img.format
            if fmt not in ACCEPTED_FORMATS:
                raise InputError(f"{name} is an image in {fmt} format; use JPEG or PNG (or DICOM on the Classify page).")
            if img.width * img.height > MAX_PIXELS:
                raise InputError(f"{name} declares {img.width}x{img.height} pixels, too large to be a scan (refused as a possible decompression bomb).")
            img.load()  # full decode: a truncated JPEG fails here, not later
            # upright as every viewer and browser shows it: a JPEG rotated by its EXIF orientation tag was read on
            # its side (22 of the 40 sample scans stored that way were answered right)
            upright(img)
        except InputError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InputError(f"{name} declares too many pixels (refused as a possible decompression bomb).") from None
        except UnidentifiedImageError:
            raise InputError(f"{name} is not an image (its bytes are no JPEG, PNG or other known format).") from None
        except (OSError, SyntaxError, ValueError) as err:
            raise InputError(f"{name} is damaged or truncated and cannot be decoded ({err}).") from None
    img.format = fmt
    if min(img.size) < MIN_SIDE or max(img.size) > MAX_SIDE:
        raise InputError(f"{name} is {img.width}x{img.height} pixels; a scan should be {MIN_SIDE} to {MAX_SIDE} px a side.")
    check_aspect(img.width, img.height, name)
    return img


def check_aspect(width: int, height: int, name: str = "the file") -> None:
    """Raise InputError for an image far from square: it cannot be one scan slice (MAX_ASPECT)."""
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise InputError(
            f"{name} is {width}x{height} pixels, {max(width, height) / min(width, height):.0f} times as long as it is "
            "wide; a scan slice is about square: upload one slice, not a strip of several or a banner."
        )


def inspect_image(data: bytes, name: str = "the file") -> ImageInfo:
    """Validate and describe an image (size, mode, hashes); raises InputError for junk."""
    img = open_image(data, name)
    return ImageInfo(
        width=img.width,
        height=img.height,
        mode=img.mode,
        format=img.format,
        sha256=sha256_hex(data),
        phash=str(imagehash.phash(to_grey(img), hash_size=PHASH_SIZE)),
    )


def hamming(hash_a: str, hash_b: str) -> int:
    """Bits that differ between two hex perceptual hashes."""
    return bin(int(hash_a, 16) ^ int(hash_b, 16)).count("1")
