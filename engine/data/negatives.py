"""Real images that are not brain MRI, from packages this project already installs (no download): pydicom's and
pydicom-data's sample CT, X-ray, nuclear-medicine, ultrasound and other-body MR images, more from npm, PyPI, Go and
Debian packages' test and example data kept in ``assets/negatives/`` (chest, neck and head CT, a CT scout, angiography,
chest X-ray, cardiac, knee, pelvic and prostate MR, Doppler echo and an ultrasound screenshot, PET, a fundus
photograph; their SOURCES.md), scikit-learn's and scikit-image's photographs,
microscopy and scanned pages, and synthetic patterns, documents and screenshots. The brain-MRI check (:mod:`engine.ml.mri_check`) learns from them and
`benchmark refusal` counts what the clinic refuses of them, by group and with each source left out in turn.

Each image is grey, as a screenshot of it arrives: a DICOM header's modality is a separate, earlier test. A CT file
that holds Hounsfield units is also shown at the standard windows of a viewer (:data:`CT_WINDOWS`), as renderings of
the same source.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

GROUPS = {
    "ct": "other modalities: CT",
    "nm": "other modalities: nuclear medicine",
    "us": "other modalities: ultrasound",
    "xray": "other modalities: X-ray",
    "mr-other": "MRI of other body parts",
    "other-medical": "other medical images (segmentation masks, test patterns)",
    "photo-grey": "photographs, grey",
    "documents": "documents and screenshots",
    "synthetic": "noise and synthetic patterns",
}

# pydicom's bundled sample files (pydicom.data.get_testdata_file would download the others): source -> (file, group)
PYDICOM_SOURCES = {
    "ct-head": ("J2K_pixelrep_mismatch.dcm", "ct"),
    "ct-head-windowed": ("693_J2KI.dcm", "ct"),
    "ct-spine": ("CT_small.dcm", "ct"),
    "nm-whole-body": ("JPEG2000.dcm", "nm"),
    "us-lymph-node": ("examples_jpeg2k.dcm", "us"),
    "us-lymph-node-rgb": ("examples_rgb_color.dcm", "us"),
    "us-palette": ("examples_palette.dcm", "us"),
    "us-small": ("ExplVR_BigEnd.dcm", "us"),
    "mr-abdomen": ("examples_overlay.dcm", "mr-other"),
    "seg-liver": ("liver_1frame.dcm", "other-medical"),
    "test-pattern": ("image_dfl.dcm", "other-medical"),
}


# pydicom-data's files (the package pydicom's get_testdata_file fetches from; installed from PyPI by requirements.txt):
# source -> (file, group, frame). Files that hold an image already above under another encoding are left out, so
# leaving a source out of the check leaves out every copy of it.
PYDICOM_DATA_SOURCES = {
    "xray-chest": ("RG1_UNCR.dcm", "xray", None),
    "xray-tibia": ("RG3_UNCR.dcm", "xray", None),
    "ct-abdomen": ("explicit_VR-UN.dcm", "ct", None),
    "ct-head-enhanced": ("eCT_Supplemental.dcm", "ct", 0),
    "mr-shoulder": ("MR2_UNCR.dcm", "mr-other", None),
    "us-aloka": ("gdcm-US-ALOKA-16.dcm", "us", None),
    "us-echo": ("color-pl.dcm", "us", None),
    "us-cardiac": ("color3d_jpeg_baseline.dcm", "us", 60),
    "test-pattern-smpte": ("mlut_18.dcm", "other-medical", None),
    # read since pylibjpeg decodes JPEG Lossless (2026-12-03): a neck CT at a soft-tissue window, an adult
    # echocardiogram (a sector scan with measurements) and an obstetric screen (probe, labels, mostly black)
    "ct-neck": ("bad_sequence.dcm", "ct", None),
    "us-echo-adult": ("JPGLosslessP14SV1_1s_1f_8b.dcm", "us", None),
    "us-obstetric": ("OBXXXX1A.dcm", "us", None),
}


@dataclasses.dataclass(frozen=True)
class Negative:
    source: str  # one original image: its variants share it, so a check can be tested with the source left out
    group: str
    image: Image.Image  # grey
    # the same image as other viewers show it (a CT file at other windows): learnt and tested as this source
    renderings: tuple[Image.Image, ...] = ()


# A CT screenshot arrives at whatever window its viewer had, and a file's stored window is one of many. The library's
# CT files that hold Hounsfield units are also shown at the standard presets (level, width) of a radiologist's
# viewer: until 2026-12-04 midday the check saw head CT only at brain windows, and answered "glioma" to an unseen head CT
# shown at a wide soft-tissue window (docs/model.md).
CT_WINDOWS = {"brain": (40, 80), "subdural": (75, 215), "soft-tissue": (40, 400), "bone": (600, 2800)}
AIR_HU = -500  # a CT frame whose values never fall below this is not in Hounsfield units (an unrescaled export)


def ct_windows(data: bytes, frame: int | None = None) -> list[Image.Image]:
    """One frame of a CT DICOM file at each of :data:`CT_WINDOWS`; none when its values are not Hounsfield units."""
    import io

    import pydicom
    from pydicom.pixels import apply_modality_lut

    ds = pydicom.dcmread(io.BytesIO(data))
    arr = ds.pixel_array
    if arr.ndim == 3:
        arr = arr[frame or 0]
    hu = np.asarray(apply_modality_lut(arr, ds), dtype=np.float32)
    if float(hu.min()) > AIR_HU:
        return []
    return [Image.fromarray(windowed(hu, level, width)) for level, width in CT_WINDOWS.values()]


def windowed(hu: np.ndarray, level: float, width: float) -> np.ndarray:
    """Hounsfield units as a viewer shows them at a window: ``level - width / 2`` black, ``level + width / 2`` white."""
    return (np.clip((hu - (level - width / 2)) / width, 0, 1) * 255).astype(np.uint8)


def _dicom_images(folder: str, sources: dict[str, tuple]) -> list[Negative]:
    """One frame of each DICOM file in ``folder`` as the clinic reads it (a CT file also at each of :data:`CT_WINDOWS`):
    ``sources`` maps source -> (file, group[, frame])."""
    from engine.data.scans import read_dicom

    out = []
    for source, (name, group, *frame) in sources.items():
        path = os.path.join(folder, name)
        if os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read()
            renderings = tuple(ct_windows(data, *frame)) if group == "ct" else ()
            out.append(Negative(source, group, read_dicom(data, *frame).image, renderings))
    return out


def _pydicom_images() -> list[Negative]:
    import data_store  # pydicom-data's package
    import pydicom

    bundled = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
    fetched = os.path.join(os.path.dirname(data_store.__file__), "data")
    return _dicom_images(bundled, PYDICOM_SOURCES) + _dicom_images(fetched, PYDICOM_DATA_SOURCES)


# scikit-image's bundled images (no download): file -> group
SKIMAGE_FILES = {
    "astronaut.png": "photo-grey",
    "camera.png": "photo-grey",
    "chelsea.png": "photo-grey",
    "coffee.png": "photo-grey",
    "coins.png": "photo-grey",
    "moon.png": "photo-grey",
    "motorcycle_left.png": "photo-grey",
    "rocket.jpg": "photo-grey",
    "hubble_deep_field.jpg": "photo-grey",
    "brick.png": "photo-grey",
    "grass.png": "photo-grey",
    "gravel.png": "photo-grey",
    "clock_motion.png": "photo-grey",
    "cell.png": "other-medical",
    "ihc.png": "other-medical",
    "microaneurysms.png": "other-medical",
    "retina.jpg": "other-medical",
    "page.png": "documents",
    "text.png": "documents",
    "phantom.png": "synthetic",
    "horse.png": "synthetic",
}


def _photos() -> list[Negative]:
    """Photographs (scikit-learn's and scikit-image's), microscopy and fundus images, scanned pages: all grey."""
    import skimage
    from sklearn.datasets import load_sample_images

    out = [Negative(f"photo-{name}", "photo-grey", Image.fromarray(arr).convert("L")) for name, arr in zip(("china", "flower"), load_sample_images().images)]
    folder = os.path.join(os.path.dirname(skimage.__file__), "data")
    for name, group in SKIMAGE_FILES.items():
        path = os.path.join(folder, name)
        if os.path.exists(path):
            with Image.open(path) as img:
                out.append(Negative(name.rsplit(".", 1)[0], group, img.convert("L")))
    return out


def _screenshot(j: int, rng: np.random.Generator) -> Image.Image:
    img = Image.new("RGB", (480, 320), (240, 240, 240) if j % 2 else (30, 30, 36))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, 480, 24), fill=(60, 90, 160) if j % 3 else (90, 90, 90))
    for _ in range(5):
        x0, y0 = int(rng.integers(0, 380)), int(rng.integers(30, 260))
        size = (int(rng.integers(60, 200)), int(rng.integers(20, 60)))
        draw.rectangle((x0, y0, x0 + size[0], y0 + size[1]), outline=(128, 128, 128), fill=tuple(int(v) for v in rng.integers(150, 255, 3)))
    for line in range(10):
        draw.text((12, 34 + 26 * line), f"Patient list  item {line}  status ok", fill=(0, 0, 0) if j % 2 else (220, 220, 220))
    return img.convert("L")


def _synthetic(seed: int) -> list[Negative]:
    rng = np.random.default_rng(seed)
    out = []
    for j in range(6):
        out.append(Negative(f"noise-uniform-{j}", "synthetic", Image.fromarray(rng.integers(0, 256, (224, 224), dtype=np.uint8))))
        out.append(Negative(f"noise-gauss-{j}", "synthetic", Image.fromarray(np.clip(rng.normal(120, 40, (224, 224)), 0, 255).astype(np.uint8))))
        g = np.tile(np.linspace(0, 255, 224, dtype=np.float32), (224, 1))
        out.append(Negative(f"gradient-{j}", "synthetic", Image.fromarray(np.rot90(g, j % 4).astype(np.uint8))))
        c = (np.indices((224, 224)).sum(axis=0) // (8 + 4 * j)) % 2 * 255
        out.append(Negative(f"checker-{j}", "synthetic", Image.fromarray(c.astype(np.uint8))))
        img = Image.new("L", (224, 224), int(rng.integers(0, 60)))
        draw = ImageDraw.Draw(img)
        for _ in range(8):
            x0, y0 = rng.integers(0, 180, 2)
            draw.ellipse([int(x0), int(y0), int(x0 + rng.integers(20, 80)), int(y0 + rng.integers(20, 80))], fill=int(rng.integers(80, 255)))
        out.append(Negative(f"shapes-{j}", "synthetic", img))
        page = Image.new("L", (224, 224), 255)
        draw = ImageDraw.Draw(page)
        for line in range(12):
            draw.text((8, 8 + 17 * line), f"Lorem ipsum dolor {j}-{line} sit amet", fill=0)
        out.append(Negative(f"text-{j}", "documents", page))
        out.append(Negative(f"screenshot-{j}", "documents", _screenshot(j, rng)))
    return out


def _asset_images() -> list[Negative]:
    """Real images from other packages' test data, kept in the repo as grey PNG (``assets/negatives/``, named
    ``GROUP__SOURCE.png``; where each comes from: its SOURCES.md)."""
    from engine.settings import REPO_ROOT

    out = []
    for path in sorted((REPO_ROOT / "assets" / "negatives").glob("*__*.png")):
        group, source = path.stem.split("__", 1)
        with Image.open(path) as img:
            out.append(Negative(source, group, img.convert("L")))
    return out


def negatives(seed: int = 0) -> list[Negative]:
    """Every source image once."""
    return _pydicom_images() + _asset_images() + _photos() + _synthetic(seed)


def library_digest(items: list[Negative] | None = None) -> str:
    """Changes when any image of the library does (a source added, a CT window, a re-extracted asset): rows a
    check was fitted from are recomputed, not reused, when it does."""
    import hashlib

    digest = hashlib.sha256()
    for item in negatives() if items is None else items:
        digest.update(f"{item.source}/{item.group}".encode())
        for image in (item.image, *item.renderings):
            digest.update(f"{image.size}".encode())
            digest.update(image.tobytes())
    return digest.hexdigest()[:12]


def variant(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """One random view of an image as it might be uploaded: a crop, a turn, a flip, a gamma, an odd shape."""
    w, h = img.size
    scale = float(rng.uniform(0.5, 1.0))
    cw, ch = max(8, int(w * scale)), max(8, int(h * scale))
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    out = img.crop((x0, y0, x0 + cw, y0 + ch)).rotate(float(rng.uniform(-30, 30)), fillcolor=0)
    if rng.random() < 0.5:
        out = ImageOps.mirror(out)
    grey = out.convert("L")
    gamma = float(rng.uniform(0.6, 1.6))
    grey = grey.point([round(255 * (v / 255) ** gamma) for v in range(256)])
    grey = ImageEnhance.Contrast(grey).enhance(float(rng.uniform(0.7, 1.4)))
    side = int(rng.integers(128, 512))
    return grey.resize((side, int(side * rng.uniform(0.6, 1.4))))


def with_variants(items: list[Negative], per_source: int, seed: int = 0) -> list[Negative]:
    """Each source as it is (in grey), each of its other renderings, and ``per_source`` random variants drawn from
    them in turn (so a CT file's windows share its variants rather than multiply them)."""
    rng = np.random.default_rng(seed)
    out = []
    for item in items:
        shown = (item.image, *item.renderings)
        out += [Negative(item.source, item.group, image) for image in shown]
        out += [Negative(item.source, item.group, variant(shown[k % len(shown)], rng)) for k in range(per_source)]
    return out
