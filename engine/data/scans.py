"""Reading an uploaded scan (JPEG, PNG, DICOM) into an 8-bit grey image, refusing bad input with one sentence.

Every decoder is bounded before it allocates: the declared width x height x frames x bytes is checked against
the limits below before pixel data is touched, a deflated DICOM is inflated only up to a cap, only the requested
frame of a multi-frame DICOM is decoded, and large images are subsampled before any floating-point copy.

Patient data in DICOM headers is never read out: only the technical fields in ``TECHNICAL_TAGS`` (no free
text such as SeriesDescription), plus the BurnedInAnnotation flag so the page can warn about text in the pixels.
"""

from __future__ import annotations

import dataclasses
import io
import math
import zlib

import numpy as np
from PIL import Image

from engine.data.image_checks import MAX_FILE_BYTES, MAX_PIXELS, MAX_SIDE, MIN_SIDE, check_aspect, open_image
from engine.data.pixels import WIDE_MODES, to_grey
from engine.errors import InputError

TECHNICAL_TAGS = ("Modality", "Rows", "Columns", "PixelSpacing", "SliceThickness", "BitsStored", "PhotometricInterpretation", "MagneticFieldStrength")
MAX_FRAMES = 2_000  # a whole MR series is a few hundred slices; more is not a scan upload
MAX_FRAME_BYTES = 128 * 1024 * 1024  # one decoded frame; a 40-megapixel 16-bit slice is 80 MB
MAX_INFLATED_BYTES = 64 * 1024 * 1024  # a deflated DICOM's dataset after inflation (a slice is a few MB)
WORKING_SIDE = 1024  # larger frames are subsampled to this before any float copy: the model sees 128-224 px


@dataclasses.dataclass
class Scan:
    """A decoded scan: 8-bit grey pixels plus what is safe to show about the file."""

    image: Image.Image  # mode "L"
    kind: str  # "jpeg" | "png" | "dicom" | ...
    technical: dict
    colourfulness: float = 0.0  # Hasler-Süsstrunk colourfulness of the original pixels (0 for grey)
    colour_share: float = 0.0  # share of strongly coloured pixels (chroma above STRONG_CHROMA); 0 for grey
    burned_in_annotation: bool = False  # the DICOM says text (possibly patient data) is burnt into the pixels


def is_dicom(data: bytes) -> bool:
    return len(data) > 132 and data[128:132] == b"DICM"


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Stretch any numeric array's full range to 0-255 (float32 working copy of an already bounded array)."""
    lo, hi = float(np.min(arr)), float(np.max(arr))
    if hi - lo < 1e-9:
        return np.zeros(arr.shape, dtype=np.uint8)
    out = arr.astype(np.float32)
    out -= lo
    out *= 255.0 / (hi - lo)
    return out.astype(np.uint8)


def _subsample(arr: np.ndarray, side: int = WORKING_SIDE) -> np.ndarray:
    """A strided view down to at most ``side`` px a side (copied, so the full frame can be freed)."""
    step = max(1, math.ceil(max(arr.shape[:2]) / side))
    return np.ascontiguousarray(arr[::step, ::step]) if step > 1 else arr


STRONG_CHROMA = 32  # max - min of R, G, B (0-255): a tint or JPEG colour noise stays far below it


def _colour_share(rgb: np.ndarray) -> float:
    """The share of strongly coloured pixels. Unlike a global colour measure, a faint tint over a whole grey
    scan or a coloured banner on a small part of it scores near 0, and a colour photo scores high."""
    rgb = rgb.astype(np.int16)
    return float((rgb.max(axis=-1) - rgb.min(axis=-1) > STRONG_CHROMA).mean())


def _colourfulness(rgb: np.ndarray) -> float:
    rgb = rgb.astype(np.float32)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


# ---------------------------------------------------------------------- DICOM
def _inflate(zipped: bytes) -> bytes:
    """A deflated DICOM body, inflated up to MAX_INFLATED_BYTES (pydicom would inflate all of it first)."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    body = inflater.decompress(zipped, MAX_INFLATED_BYTES)
    if inflater.unconsumed_tail:
        raise InputError(
            f"the deflated DICOM expands to over {MAX_INFLATED_BYTES // 2**20} MB, far more than a scan (refused as a possible decompression bomb)."
        )
    return body


def _parse_dicom(data: bytes):
    """The dataset, with a deflated body inflated under a cap; pixel data is not decoded here."""
    import pydicom
    from pydicom.filereader import _read_file_meta_info, read_dataset, read_preamble
    from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian

    fp = io.BytesIO(data)
    read_preamble(fp, False)
    meta = _read_file_meta_info(fp)
    if meta.get("TransferSyntaxUID") != DeflatedExplicitVRLittleEndian:
        return pydicom.dcmread(io.BytesIO(data))
    ds = read_dataset(io.BytesIO(_inflate(data[fp.tell() :])), is_implicit_VR=False, is_little_endian=True)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian  # what the inflated bytes now are
    ds.file_meta = meta
    ds.set_original_encoding(False, True)
    return ds


def _declared(ds, name: str, default: int | None = None) -> int:
    value = ds.get(name)
    if value is None or value == "":
        if default is None:
            raise InputError(f"the DICOM header has no {name}, so the image size is unknown.")
        return default
    return int(value)


def _check_geometry(ds, frame: int | None) -> tuple[int, int | None]:
    """(frames, frame index to decode) after checking the declared size against the limits."""
    rows, cols = _declared(ds, "Rows"), _declared(ds, "Columns")
    frames = _declared(ds, "NumberOfFrames", 1) or 1
    samples = _declared(ds, "SamplesPerPixel", 1)
    bits = _declared(ds, "BitsAllocated", 16)
    if not (MIN_SIDE <= rows <= MAX_SIDE and MIN_SIDE <= cols <= MAX_SIDE) or rows * cols > MAX_PIXELS:
        raise InputError(f"the DICOM header declares {cols}x{rows} pixels; a scan should be {MIN_SIDE} to {MAX_SIDE} px a side (refused before decoding).")
    check_aspect(cols, rows, "the DICOM image")
    if not 1 <= frames <= MAX_FRAMES or samples not in (1, 3) or bits not in (1, 8, 16, 32):
        raise InputError(f"the DICOM header declares {frames} frames of {samples} samples at {bits} bits, which is not a scan this page can read.")
    decoded_bytes = rows * cols * samples * max(1, bits // 8)
    if decoded_bytes > MAX_FRAME_BYTES:
        raise InputError(f"one DICOM frame would take {decoded_bytes / 2**20:.0f} MB, over the {MAX_FRAME_BYTES // 2**20} MB limit (refused before decoding).")
    stored_bytes = math.ceil(rows * cols * samples * bits / 8) * frames
    if not ds.file_meta.TransferSyntaxUID.is_compressed and len(ds.PixelData) < stored_bytes:
        raise InputError("the DICOM pixel data is shorter than its header declares; the file is truncated or damaged.")
    if frames == 1:
        return 1, None
    if frame is None:
        raise InputError(f"the DICOM file is a multi-frame series of {frames} slices; choose one slice (--frame N) or export a single 2D slice.")
    if not 0 <= frame < frames:
        raise InputError(f"slice {frame} does not exist; the series has {frames} slices (0 to {frames - 1}).")
    return frames, frame


def _windowed(arr: np.ndarray, ds) -> np.ndarray:
    """The window the scanner suggested. A window that cannot apply (a width of 0, which some exporters write
    for "none", or a malformed lookup table) is a display hint, not damage to the pixels: the full range is kept."""
    from pydicom.pixels import apply_voi_lut

    try:
        return apply_voi_lut(arr, ds)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError):
        return arr


def _check_codec(ds) -> None:
    """Refuse, with the encoding's name, pixel data no installed decoder reads: a video, a private or unknown
    transfer syntax. Every still-image compression a PACS exports (JPEG baseline, extended and lossless, JPEG-LS,
    JPEG 2000, HTJ2K, RLE) is decoded: pydicom with Pillow, pylibjpeg and pyjpegls (requirements.txt)."""
    from pydicom.pixels import get_decoder

    uid = ds.file_meta.get("TransferSyntaxUID")
    if uid is None:
        raise InputError("the DICOM file does not say how its pixels are encoded (no transfer syntax); export the slice again.")
    if not uid.is_transfer_syntax:
        raise InputError(f"the DICOM pixels are encoded with an unknown transfer syntax ({str(uid)[:64]}); export the slice as standard DICOM, PNG or JPEG.")
    if not uid.is_compressed:
        return
    try:
        available = get_decoder(uid).is_available
    except NotImplementedError:  # pydicom has no decoder at all for it (video, JPIP)
        available = False
    if not available:
        raise InputError(f"the DICOM pixels are stored as {uid.name}, which this page cannot decode; export the slice as uncompressed DICOM, PNG or JPEG.")


def _check_codestream(ds, frames: int, index: int | None) -> None:
    """A compressed frame must declare the header's size inside its codestream too: the decoder allocates what
    the codestream says, and only the header's size was checked against the limits."""
    from pydicom.encaps import get_frame
    from pydicom.uid import RLELossless

    from engine.data.codestreams import declared_size

    syntax = ds.file_meta.TransferSyntaxUID
    if not syntax.is_encapsulated or syntax == RLELossless:  # RLE's decoder allocates the header's size
        return
    size = declared_size(get_frame(ds.PixelData, index or 0, number_of_frames=frames))
    rows, cols = int(ds.Rows), int(ds.Columns)
    if size is not None and size != (cols, rows):
        raise InputError(
            f"the compressed image inside the DICOM declares {size[0]}x{size[1]} pixels but its header {cols}x{rows}; "
            "the file is damaged or crafted (refused before decoding)."
        )


def _technical(ds) -> dict:
    out = {}
    for tag in TECHNICAL_TAGS:
        try:
            value = ds.get(tag)
        except Exception:  # noqa: BLE001 - a malformed optional field is left out, not fatal
            continue
        if value is None or value == "":
            continue
        out[tag] = _for_people(tag, value)
    return out


def _for_people(tag: str, value) -> str:
    if tag == "PixelSpacing":
        return " x ".join(f"{float(v):g}" for v in value) + " mm"
    if tag == "SliceThickness":
        return f"{float(value):g} mm"
    if tag == "MagneticFieldStrength":
        return f"{float(value):g} T"
    return str(value)[:64]


def read_dicom(data: bytes, frame: int | None = None) -> Scan:
    """Decode one frame of a DICOM file; InputError with one sentence for anything hostile or damaged."""
    try:
        return _read_dicom(data, frame)
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - pydicom raises many types (ValueError, TypeError, struct.error, ...) on hostile bytes
        raise InputError(f"the DICOM file is damaged and cannot be read ({type(err).__name__}).") from None


def _read_dicom(data: bytes, frame: int | None) -> Scan:
    from pydicom.pixels import apply_modality_lut, pixel_array

    ds = _parse_dicom(data)
    if "PixelData" not in ds:
        raise InputError("the DICOM file holds no image (no pixel data); export the slice as an image series.")
    _check_codec(ds)
    frames, index = _check_geometry(ds, frame)
    _check_codestream(ds, frames, index)
    pixels = _subsample(pixel_array(ds, index=index))  # only the requested frame is decoded
    arr = apply_modality_lut(pixels, ds)  # stored values -> real units (RescaleSlope/Intercept)
    if "WindowCenter" in ds or "VOILUTSequence" in ds:
        arr = _windowed(arr, ds)
    colour, share = 0.0, 0.0
    if arr.ndim == 3:  # RGB DICOM
        rgb = _to_uint8(arr)
        colour, share = _colourfulness(rgb), _colour_share(rgb)
        arr = arr.mean(axis=2)
    if ds.get("PhotometricInterpretation") == "MONOCHROME1":
        arr = arr.max() - arr
    burned = str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES"
    return Scan(Image.fromarray(_to_uint8(arr), mode="L"), "dicom", _technical(ds), colour, share, burned)


# ---------------------------------------------------------------------- images
def read_scan(data: bytes, frame: int | None = None) -> Scan:
    """Decode an upload; raises InputError with a reason for every kind of bad input."""
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"the file is {len(data) / 1e6:.0f} MB, over the {MAX_FILE_BYTES // 1_000_000} MB limit for one scan.")
    if is_dicom(data):
        return read_dicom(data, frame)
    img = open_image(data, "the file")  # declared size checked before the pixels are decoded
    kind = (img.format or "image").lower()
    technical = {"Format": img.format, "Size": f"{img.width} x {img.height} px", "Mode": img.mode}
    colour, share = 0.0, 0.0
    if img.mode not in (*WIDE_MODES, "L", "1", "LA"):
        # a thumbnail of colour modes only: Pillow cannot shrink a 16-bit TIFF's I;16 pixels (ValueError)
        thumb = img.copy()
        thumb.thumbnail((128, 128))
        rgb = np.asarray(thumb.convert("RGB"))
        colour, share = _colourfulness(rgb), _colour_share(rgb)
    grey = to_grey(img)
    return Scan(grey, kind, technical, colour, share)
