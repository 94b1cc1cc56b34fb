"""What hospitals and screenshots do to a real scan before it is uploaded: re-compression, gamma and contrast,
tints, burnt-in text and banners, crops, zoom, rotation, flips, odd sizes, 16-bit PNG and windowed DICOM; and
screenshots of pages, pairs of slices, thumbnails and turned scans. Each shift turns one real scan into the bytes of an upload, so `benchmark refusal` can count false refusals per shift.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from engine.png import png_bytes


def jpeg_bytes(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def _gamma(img: Image.Image, gamma: float) -> Image.Image:
    return img.point([round(255 * (v / 255) ** gamma) for v in range(256)])


def gamma_png(img: Image.Image, gamma: float) -> bytes:
    return png_bytes(_gamma(img, gamma))


def _tint(img: Image.Image) -> Image.Image:
    arr = np.asarray(img.convert("RGB")).astype(np.int16) + np.array([6, 0, -4])
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _annotated(img: Image.Image) -> Image.Image:
    """Burnt-in annotations as a viewer exports them: orientation letters, a scale bar, lines of text."""
    out = img.convert("RGB")
    w, h = out.size
    draw = ImageDraw.Draw(out)
    draw.text((4, 4), "AX T1 +C  SE 4  IM 12", fill=(255, 255, 255))
    draw.text((4, 16), "W 600 L 300", fill=(255, 255, 255))
    draw.text((w - 14, h // 2), "L", fill=(255, 255, 255))
    draw.text((4, h // 2), "R", fill=(255, 255, 255))
    draw.line((w - 60, h - 10, w - 10, h - 10), fill=(255, 255, 255), width=2)
    draw.line((w // 3, h // 3, w // 2, h // 2), fill=(255, 255, 0), width=2)  # a reader's arrow
    return out


def _banner(img: Image.Image) -> Image.Image:
    out = img.convert("RGB")
    w, h = out.size
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, 0, w, int(0.08 * h)), fill=(20, 90, 200))
    draw.text((6, 2), "Radiology Department - teaching file", fill=(255, 255, 255))
    return out


def _crop(img: Image.Image, share: float, dx: float = 0.0) -> Image.Image:
    w, h = img.size
    cw, ch = int(w * share), int(h * share)
    x0 = int((w - cw) / 2 + dx * (w - cw) / 2)
    y0 = (h - ch) // 2
    return img.crop((x0, y0, x0 + cw, y0 + ch))


def _pad(img: Image.Image, share: float) -> Image.Image:
    w, h = img.size
    return ImageOps.expand(img, border=(int(w * share), int(h * share)), fill=0)


def _letterbox(img: Image.Image, aspect: float = 16 / 9) -> Image.Image:
    """The scan as a screenshot of a wide viewer shows it: full height, black bars left and right."""
    w, h = img.size
    viewer = Image.new(img.mode, (round(h * aspect), h))
    viewer.paste(img, ((viewer.width - w) // 2, 0))
    return viewer


def _sixteen_bit(img: Image.Image) -> bytes:
    arr = np.asarray(img.convert("L")).astype(np.uint16) * 257
    return png_bytes(Image.fromarray(arr))


def mr_dataset(arr: np.ndarray, bits_stored: int):
    """An uncompressed single-slice MR DICOM dataset of a grey array (uint8 or uint16), as a scanner exports one;
    ``ds.compress(uid)`` packs it."""
    from pydicom import Dataset
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID, meta.TransferSyntaxUID = MRImageStorage, generate_uid(), ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = MRImageStorage, meta.MediaStorageSOPInstanceUID, "MR"
    ds.Rows, ds.Columns = arr.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = arr.dtype.itemsize * 8, bits_stored, bits_stored - 1, 0
    ds.PixelData = arr.tobytes()
    return ds


def _dicom(img: Image.Image) -> bytes:
    """An MR DICOM with 12-bit values, a rescale and a window, as a scanner exports one slice."""
    ds = mr_dataset((np.asarray(img.convert("L")).astype(np.uint16) * 16).astype(np.uint16), 12)
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    ds.WindowCenter, ds.WindowWidth = 2000, 3600
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


SHIFTS: dict[str, Callable[[Image.Image], bytes]] = {
    "none (PNG)": lambda im: png_bytes(im),
    "JPEG quality 30": lambda im: jpeg_bytes(im, 30),
    "JPEG quality 60": lambda im: jpeg_bytes(im, 60),
    "JPEG quality 95": lambda im: jpeg_bytes(im, 95),
    "gamma 0.6": lambda im: gamma_png(im, 0.6),
    "gamma 1.5": lambda im: gamma_png(im, 1.5),
    "contrast 0.6": lambda im: png_bytes(ImageEnhance.Contrast(im).enhance(0.6)),
    "contrast 1.4": lambda im: png_bytes(ImageEnhance.Contrast(im).enhance(1.4)),
    "faint colour tint": lambda im: png_bytes(_tint(im)),
    "burnt-in text and arrow": lambda im: png_bytes(_annotated(im)),
    "coloured banner": lambda im: png_bytes(_banner(im)),
    "crop 80% centred": lambda im: png_bytes(_crop(im, 0.8)),
    "crop 80% off-centre": lambda im: png_bytes(_crop(im, 0.8, dx=0.9)),
    "zoom out (25% black padding)": lambda im: png_bytes(_pad(im, 0.25)),
    "rotate 15°": lambda im: png_bytes(im.rotate(15, fillcolor=0)),
    "rotate -15°": lambda im: png_bytes(im.rotate(-15, fillcolor=0)),
    "flip left-right": lambda im: png_bytes(ImageOps.mirror(im)),
    "128 px": lambda im: png_bytes(im.resize((128, 128))),
    "1024 px": lambda im: png_bytes(im.resize((1024, 1024))),
    "non-square 640x480": lambda im: png_bytes(im.resize((640, 480))),
    "16:9 viewer screenshot (black bars)": lambda im: png_bytes(_letterbox(im)),
    "16-bit PNG": _sixteen_bit,
    "DICOM MR, 12-bit, windowed": _dicom,
}


def _on_page(img: Image.Image) -> Image.Image:
    """The scan as a screenshot of a report or an article shows it: on a white page, a heading above, a caption below."""
    w, h = img.size
    page = Image.new("L", (w * 8 // 5, h * 3 // 2), 255)
    page.paste(img, (w * 3 // 10, h // 10))
    draw = ImageDraw.Draw(page)
    draw.text((w // 10, h // 40), "Case 12 - MRI brain", fill=0)
    for line in range(4):
        draw.text((w // 10, h * 6 // 5 + line * max(10, h // 20)), "Figure 3: axial slice, post-contrast T1, 2026-11-30", fill=0)
    return page


def _side_by_side(img: Image.Image) -> Image.Image:
    """Two slices in one image, as a comparison export shows them: here the scan and its mirror image."""
    pair = Image.new("L", (img.width * 2, img.height))
    pair.paste(img, (0, 0))
    pair.paste(ImageOps.mirror(img), (img.width, 0))
    return pair


def _exif_rotated(img: Image.Image) -> bytes:
    """A JPEG stored on its side with an EXIF tag that tells viewers to turn it upright, as phones write them."""
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buf = io.BytesIO()
    img.rotate(90, expand=True).save(buf, format="JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue()


def _sixteen_bit_tiff(img: Image.Image) -> bytes:
    """A 16-bit TIFF at 512 px, as ImageJ and some PACS export: Pillow reads it as I;16, which it cannot shrink."""
    arr = np.asarray(img.convert("L").resize((512, 512), Image.BILINEAR)).astype(np.uint16) * 257
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="TIFF")
    return buf.getvalue()


# Screenshots and exports beyond what the brain-MRI check learns from (engine.ml.mri_check fits on SHIFTS only):
# `benchmark refusal` measures them, so a new kind of upload is measured as the check has never seen it.
SCREENSHOT_SHIFTS: dict[str, Callable[[Image.Image], bytes]] = {
    "on a white page (15% margin)": lambda im: png_bytes(ImageOps.expand(im, border=im.width * 3 // 20, fill=255)),
    "on a page with a heading and a caption": lambda im: png_bytes(_on_page(im)),
    "in a grey viewer (grey 80, 15% margin)": lambda im: png_bytes(ImageOps.expand(im, border=im.width * 3 // 20, fill=80)),
    "in a dark grey viewer (grey 50, 15% margin)": lambda im: png_bytes(ImageOps.expand(im, border=im.width * 3 // 20, fill=50)),
    "two slices side by side": lambda im: png_bytes(_side_by_side(im)),
    "JPEG turned upright by its EXIF tag": _exif_rotated,
    "16-bit TIFF, 512 px": _sixteen_bit_tiff,
    "thumbnail 64 px": lambda im: png_bytes(im.resize((64, 64), Image.LANCZOS)),
    "thumbnail 32 px": lambda im: png_bytes(im.resize((32, 32), Image.LANCZOS)),
    "rotated 90°": lambda im: png_bytes(im.rotate(90, expand=True)),
    "upside down (180°)": lambda im: png_bytes(im.rotate(180)),
}


def shifted(img: Image.Image, screenshots: bool = False) -> list[tuple[str, bytes]]:
    """(shift, upload bytes) for every shift of one grey scan, and with ``screenshots`` the SCREENSHOT_SHIFTS too."""
    grey = img.convert("L")
    shifts = {**SHIFTS, **SCREENSHOT_SHIFTS} if screenshots else SHIFTS
    return [(name, make(grey)) for name, make in shifts.items()]
