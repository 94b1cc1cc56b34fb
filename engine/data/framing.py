"""Trim a dark frame the training scans never had: a screenshot of a viewer that shows the slice small, or in a
wide black viewport.

The model learnt framing along with anatomy: in the 5,708 training scans the head spans a median 86-88% of the
frame for gliomas and meningiomas and 96-98% for the other two classes, and never less than 52%. An upload whose
content spans under half the frame is outside what the model has seen: it is cut to a square around its content
with the median training margin. All 5,708 training scans are square; a square scan letterboxed in a wide viewport
(63% of such screenshots answered right before, 98% after) is cut back to its square. Every scan framed like a
training scan is left untouched, so their answers do not change. A scan shown somewhat smaller (25% black
padding, 37% of the answers wrong) stays within the training range and is not cut: real small-framed glioma and
meningioma scans look the same, and cutting those cost a quarter of their answers (docs/model.md).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SPAN_BELOW = 0.5  # content span (largest side, share of the frame) under which an upload is re-framed
TARGET_SPAN = 0.93  # the median span of the training scans: the re-framed content fills this share
LOOK_SIZE = 256  # measured on a thumbnail: fast and bounded whatever the upload's size
DARK_SHARE = 0.08  # a pixel is content above this share of the bright end (99.5th percentile) ...
DARK_FLOOR = 8.0  # ... and above this grey level, so JPEG noise in a black frame is not content
LETTERBOX_ASPECT = 1.1  # every training scan is square; a wider upload whose content fits its height is a viewport
# Under this span the answer is flagged for review (engine.clinic.gate): 147 of the 5,708 training scans (2.6%, all
# but one glioma or meningioma) are framed this small, and so is nearly every scan shown with 25% black padding.
SMALL_FRAME_BELOW = 0.70


def content_box(img: Image.Image) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the non-dark content in ``img``'s pixels, or None for an all-dark image."""
    look = img.convert("L")
    look.thumbnail((LOOK_SIZE, LOOK_SIZE))
    arr = np.asarray(look, dtype=np.float32)
    mask = content_mask(arr)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return None
    sx, sy = img.width / arr.shape[1], img.height / arr.shape[0]
    return int(cols[0] * sx), int(rows[0] * sy), int(np.ceil((cols[-1] + 1) * sx)), int(np.ceil((rows[-1] + 1) * sy))


def content_mask(grey: np.ndarray) -> np.ndarray:
    """Where a grey image (0-255) shows content rather than the dark frame around it."""
    return grey > max(DARK_SHARE * float(np.percentile(grey, 99.5)), DARK_FLOOR)


def content_span(scan: np.ndarray) -> float | None:
    """The content's largest side as a share of the frame, for a prepared uint8 scan (h, w[, channels]); None
    for an all-dark one."""
    img = Image.fromarray((scan.mean(axis=-1) if scan.ndim == 3 else scan).astype(np.uint8))
    box = content_box(img)
    return None if box is None else _span(box, img)


def _span(box: tuple[int, int, int, int], img: Image.Image) -> float:
    return max((box[2] - box[0]) / img.width, (box[3] - box[1]) / img.height)


def reframe(img: Image.Image) -> tuple[Image.Image, bool]:
    """``img`` as the model expects a scan framed: square, content filling most of it.

    Two uploads are cut, every other one is returned as it is. A square scan shown in a wider (or taller) black
    viewport, the content no longer than the short side: cut back to that square. A dark frame wider than any
    training scan's: cut to a square around the content with the median training margin. Returns (image,
    whether it was cut); a square is centred on the content and, where it reaches past the image, padded black.
    """
    box = content_box(img)
    if box is None:
        return img, False
    cut = False
    short, long_ = sorted(img.size)
    width, height = box[2] - box[0], box[3] - box[1]
    along_long, along_short = (width, height) if img.width >= img.height else (height, width)
    # a letterboxed scan, not a stretched one: its content fits the short side and is not drawn out along the long
    if long_ > LETTERBOX_ASPECT * short and along_long <= short and along_long <= LETTERBOX_ASPECT * along_short:
        img, cut = _square(img, box, short), True
        box = content_box(img)
        if box is None:
            return img, cut
    if _span(box, img) >= SPAN_BELOW:
        return img, cut
    return _square(img, box, max(box[2] - box[0], box[3] - box[1]) / TARGET_SPAN), True


def _square(img: Image.Image, box: tuple[int, int, int, int], side: float) -> Image.Image:
    side = max(1, round(side))
    x0, y0 = round((box[0] + box[2] - side) / 2), round((box[1] + box[3] - side) / 2)
    if side <= min(img.size):  # keep the square inside the image where it fits: no black added for nothing
        x0, y0 = min(max(x0, 0), img.width - side), min(max(y0, 0), img.height - side)
    return img.crop((x0, y0, x0 + side, y0 + side))
