"""Reading an uploaded scan (JPEG, PNG, DICOM) into an 8-bit grey image, refusing bad input with one sentence.

Patient identifiers in DICOM headers are never read out: only the technical fields in ``TECHNICAL_TAGS``.
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np
from PIL import Image

from engine.errors import InputError
from engine.images import MAX_FILE_BYTES, open_image

TECHNICAL_TAGS = ("Modality", "Rows", "Columns", "PixelSpacing", "SliceThickness", "BitsStored", "PhotometricInterpretation",
                  "MagneticFieldStrength", "SeriesDescription")
# SeriesDescription can hold free text typed at the scanner; it is shown only if it has no digits (no dates, ids).


@dataclasses.dataclass
class Scan:
    """A decoded scan: 8-bit grey pixels plus what is safe to show about the file."""

    image: Image.Image  # mode "L"
    kind: str  # "jpeg" | "png" | "dicom" | ...
    technical: dict


def is_dicom(data: bytes) -> bool:
    return len(data) > 132 and data[128:132] == b"DICM"


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    arr = arr.astype(np.float64)
    lo, hi = float(np.min(arr)), float(np.max(arr))
    if hi - lo < 1e-9:
        return np.zeros(arr.shape, dtype=np.uint8)
    return ((arr - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def read_dicom(data: bytes, frame: int | None = None) -> Scan:
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, OSError, ValueError, EOFError) as err:
        raise InputError(f"the DICOM file is damaged and cannot be read ({type(err).__name__}).") from None
    if "PixelData" not in ds:
        raise InputError("the DICOM file holds no image (no pixel data); export the slice as an image series.")
    try:
        pixels = ds.pixel_array
    except Exception as err:  # pydicom raises several types for unsupported transfer syntaxes
        raise InputError(f"the DICOM pixel data cannot be decoded ({type(err).__name__}: {str(err).splitlines()[0][:120]}).") from None
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if frames > 1 or pixels.ndim == 3 and ds.get("SamplesPerPixel", 1) == 1:
        if frame is None:
            raise InputError(f"the DICOM file is a multi-frame series of {frames} slices; choose one slice (--frame N) or export a single 2D slice.")
        if not 0 <= frame < pixels.shape[0]:
            raise InputError(f"slice {frame} does not exist; the series has {pixels.shape[0]} slices (0 to {pixels.shape[0] - 1}).")
        pixels = pixels[frame]
    arr = apply_modality_lut(pixels, ds)  # stored values -> real units (RescaleSlope/Intercept)
    if "WindowCenter" in ds or "VOILUTSequence" in ds:
        arr = apply_voi_lut(arr, ds)  # the window the scanner suggested
    if arr.ndim == 3:  # RGB DICOM
        arr = arr.mean(axis=2)
    if ds.get("PhotometricInterpretation") == "MONOCHROME1":
        arr = arr.max() - arr
    technical = {}
    for tag in TECHNICAL_TAGS:
        value = ds.get(tag)
        if value is None:
            continue
        text = str(list(value) if tag == "PixelSpacing" else value)
        if tag == "SeriesDescription" and any(c.isdigit() for c in text):
            continue
        technical[tag] = text
    return Scan(Image.fromarray(_to_uint8(arr), mode="L"), "dicom", technical)


def read_scan(data: bytes, frame: int | None = None) -> Scan:
    """Decode an upload; raises InputError with a reason for every kind of bad input."""
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"the file is {len(data) / 1e6:.0f} MB, over the {MAX_FILE_BYTES // 1_000_000} MB limit for one scan.")
    if is_dicom(data):
        return read_dicom(data, frame)
    img = open_image(data, "the file")
    kind = (img.format or "image").lower()
    technical = {"Format": img.format, "Size": f"{img.width}x{img.height}", "Mode": img.mode}
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit PNG/TIFF: scale the full range to 8 bits
        grey = Image.fromarray(_to_uint8(np.asarray(img)), mode="L")
    elif img.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", img.size, (0, 0, 0, 255))
        grey = Image.alpha_composite(background, img.convert("RGBA")).convert("L")
    else:  # L, RGB, CMYK, P, 1, YCbCr...
        grey = img.convert("RGB").convert("L") if img.mode in ("CMYK", "P", "YCbCr") else img.convert("L")
    return Scan(grey, kind, technical)


def colourfulness(data: bytes) -> float:
    """Hasler-Süsstrunk colourfulness of the original pixels (0 for grey images; photos score > 15)."""
    if is_dicom(data):
        return 0.0
    try:
        img = Image.open(io.BytesIO(data))
        if img.mode in ("L", "I", "I;16", "1", "LA"):
            return 0.0
        rgb = np.asarray(img.convert("RGB").resize((128, 128)), dtype=np.float64)
    except (OSError, ValueError):
        return 0.0
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
