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
# A border of one uniform grey lighter than a dark frame (a scan on a white page, in a grey viewer) is cut away first:
# the outer BORDER_BAND of each side is at least BORDER_UNIFORM_SHARE one level (within BORDER_TOLERANCE), brighter
# than BORDER_LEVEL_ABOVE. No training scan has such a border (a few have a thin bright line at the edge, left alone).
BORDER_BAND = 0.02
BORDER_UNIFORM_SHARE = 0.9
BORDER_TOLERANCE = 12.0  # grey levels around the border's median: JPEG ringing and anti-aliasing
BORDER_LEVEL_ABOVE = 64.0  # darker frames are the ones the rest of this module handles (one training scan has one at 48-64)
# A darker grey border is cut only when drawn: software paints a viewer's background exactly flat, a scan's own grey
# background is noise (the two training scans with one above 38 have 60-76% of it within 2 levels, a viewer 100%).
# A dark grey viewer was refused as not a brain MRI (grey 50: 4.5% of 288 unseen scans, grey 40: 3.8%).
DRAWN_BORDER_ABOVE = 38.0
DRAWN_TOLERANCE = 2.0
DRAWN_UNIFORM_SHARE = 0.99
PICTURE_SHARE = 0.5  # a line of the picture is mostly unlike the page; a line of text is not
LIGHT_PAGE_ABOVE = 160.0  # a page this light holds headings and captions; a scan's tissue is rarely that close to it
# Under this span the answer is flagged for review (engine.clinic.gate): 147 of the 5,708 training scans (2.6%, all
# but one glioma or meningioma) are framed this small, and so is nearly every scan shown with 25% black padding.
SMALL_FRAME_BELOW = 0.70


def content_box(img: Image.Image) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the non-dark content in ``img``'s pixels, or None for an all-dark image."""
    arr = _look(img)
    mask = content_mask(arr)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return None
    return _to_image_box((int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1), arr, img)


def _look(img: Image.Image) -> np.ndarray:
    """``img`` in grey, shrunk to fit LOOK_SIZE: what the framing is measured on, fast and bounded."""
    look = img.convert("L")
    look.thumbnail((LOOK_SIZE, LOOK_SIZE))
    return np.asarray(look, dtype=np.float32)


def _to_image_box(found: tuple[int, int, int, int], arr: np.ndarray, img: Image.Image) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) in the thumbnail ``arr`` as (left, top, right, bottom) in ``img``'s pixels, outward."""
    r0, r1, c0, c1 = found
    sx, sy = img.width / arr.shape[1], img.height / arr.shape[0]
    return int(c0 * sx), int(r0 * sy), int(np.ceil(c1 * sx)), int(np.ceil(r1 * sy))


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

    Three uploads are cut, every other one is returned as it is. A scan on a uniform light border (a page, a
    viewer's grey background): the border is cut away first (:func:`trim_uniform_border`). A square scan shown in a wider (or taller) black
    viewport, the content no longer than the short side: cut back to that square. A dark frame wider than any
    training scan's: cut to a square around the content with the median training margin. Returns (image,
    whether it was cut); a square is centred on the content and, where it reaches past the image, padded black.
    """
    img, cut = trim_uniform_border(img)
    box = content_box(img)
    if box is None:
        return img, cut
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


def trim_uniform_border(img: Image.Image) -> tuple[Image.Image, bool]:
    """The picture in ``img`` without a thick uniform border lighter than a dark frame around it (and, on a light
    page, a heading or caption), and whether one was cut. A scan on a white page was refused as not a brain MRI
    (119 of 120 unseen scans with 15% white padding, all 120 on a page with a caption); cut, it reads as exported."""
    arr = _look(img)
    band = max(2, round(BORDER_BAND * min(arr.shape)))  # thick: a thin bright line at a scan's edge is no page
    edge = np.concatenate([arr[:band].ravel(), arr[-band:].ravel(), arr[band:-band, :band].ravel(), arr[band:-band, -band:].ravel()])
    level = float(np.median(edge))
    tolerance = _border_tolerance(edge, level)
    if tolerance is None:
        return img, False
    found = _picture(arr, level, tolerance)
    if found is None:
        return img, False
    box = _to_image_box(found, arr, img)
    if min(box[2] - box[0], box[3] - box[1]) < 0.1 * min(img.size):  # a speck on a page, not a scan: leave it whole
        return img, False
    steps = int(np.ceil(max(img.width / arr.shape[1], img.height / arr.shape[0]))) + 1
    return img.crop(_tighten(img.convert("L"), box, level, tolerance, steps)), True


def _border_tolerance(edge: np.ndarray, level: float) -> float | None:
    """How far from ``level`` a pixel of this border may be and still be border; None when it is no page to cut."""
    if level > BORDER_LEVEL_ABOVE and np.mean(np.abs(edge - level) <= BORDER_TOLERANCE) >= BORDER_UNIFORM_SHARE:
        return BORDER_TOLERANCE
    if level > DRAWN_BORDER_ABOVE and np.mean(np.abs(edge - level) <= DRAWN_TOLERANCE) >= DRAWN_UNIFORM_SHARE:
        return DRAWN_TOLERANCE
    return None


def _picture(arr: np.ndarray, level: float, tolerance: float) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the picture on a page of grey ``level``, in ``arr``'s pixels, or None.

    The border's lines (mostly the page's level) are peeled off first. On a light page, the rest is then narrowed
    twice to the tallest band of rows mostly unlike the page, and the widest such band of columns within it: a
    heading or a caption (sparse strokes) falls outside. Not on a grey page: a scan's own mid-grey tissue can
    match it, and narrowing cut into the scan (a page at grey 70: 79% of scans refused).
    """
    page = np.abs(arr - level) <= tolerance
    rows, cols = np.flatnonzero(page.mean(1) < BORDER_UNIFORM_SHARE), np.flatnonzero(page.mean(0) < BORDER_UNIFORM_SHARE)
    if rows.size == 0 or cols.size == 0:
        return None
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    if level < LIGHT_PAGE_ABOVE:
        return int(r0), int(r1), int(c0), int(c1)
    inside = np.abs(arr - level) > 2 * tolerance
    for _ in range(2):
        r0, r1 = r0 + np.array(_longest_run(inside[r0:r1, c0:c1].mean(1) > PICTURE_SHARE))
        if r1 == r0:
            return None
        c0, c1 = c0 + np.array(_longest_run(inside[r0:r1, c0:c1].mean(0) > PICTURE_SHARE))
        if c1 == c0:
            return None
    return int(r0), int(r1), int(c0), int(c1)


def _longest_run(flags: np.ndarray) -> tuple[int, int]:
    """(start, end) of the longest run of True in ``flags``; (0, 0) when there is none."""
    best, start = (0, 0), None
    for i, flag in enumerate([*flags.tolist(), False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            best, start = max(best, (start, i), key=lambda run: run[1] - run[0]), None
    return best


def _tighten(grey: Image.Image, box: tuple[int, int, int, int], level: float, tolerance: float, steps: int) -> tuple[int, int, int, int]:
    """``box`` moved inward, at full resolution, past lines still of the border's level: the thumbnail's box can
    keep a line or two of white, and a white line raises the bright end the scan is stretched by."""
    left, top, right, bottom = box

    def border(line: Image.Image) -> bool:
        return bool(np.mean(np.abs(np.asarray(line, dtype=np.float32) - level) <= tolerance) >= BORDER_UNIFORM_SHARE)

    for _ in range(steps):
        moved = False
        if right - left > 2 and border(grey.crop((left, top, left + 1, bottom))):
            left, moved = left + 1, True
        if right - left > 2 and border(grey.crop((right - 1, top, right, bottom))):
            right, moved = right - 1, True
        if bottom - top > 2 and border(grey.crop((left, top, right, top + 1))):
            top, moved = top + 1, True
        if bottom - top > 2 and border(grey.crop((left, bottom - 1, right, bottom))):
            bottom, moved = bottom - 1, True
        if not moved:
            break
    return left, top, right, bottom


def _square(img: Image.Image, box: tuple[int, int, int, int], side: float) -> Image.Image:
    side = max(1, round(side))
    x0, y0 = round((box[0] + box[2] - side) / 2), round((box[1] + box[3] - side) / 2)
    if side <= min(img.size):  # keep the square inside the image where it fits: no black added for nothing
        x0, y0 = min(max(x0, 0), img.width - side), min(max(y0, 0), img.height - side)
    return img.crop((x0, y0, x0 + side, y0 + side))
