"""Image checks: every kind of junk gets a one-line reason; real scans pass and hash stably."""

import io

import pytest
from PIL import Image

from engine.data.image_checks import hamming, inspect_image, open_image
from engine.errors import InputError
from tests.images import bomb_png, png_bytes, sample_files, truncated_jpeg


def test_real_scan_is_described():
    data = sample_files("glioma", 1)[0].read_bytes()
    info = inspect_image(data)
    assert (info.width, info.height, info.format) == (224, 224, "JPEG")
    assert len(info.sha256) == 64 and len(info.phash) == 64
    assert info == inspect_image(data)


def test_reencoded_copy_is_near_but_not_exact():
    data = sample_files("meningioma", 1)[0].read_bytes()
    buf = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buf, format="JPEG", quality=70)
    a, b = inspect_image(data), inspect_image(buf.getvalue())
    assert a.sha256 != b.sha256
    assert hamming(a.phash, b.phash) <= 10


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"<html><body>hello</body></html>", "not an image"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "not an image"),
        (truncated_jpeg(), "damaged or truncated"),
        (bomb_png(), "decompression bomb"),
        (png_bytes(size=(8, 8)), "8x8 pixels"),
    ],
)
def test_junk_is_refused_with_a_reason(data, reason):
    with pytest.raises(InputError, match=reason):
        open_image(data, "upload.jpg")


def test_distinct_classes_are_far_apart():
    a = inspect_image(sample_files("glioma", 1)[0].read_bytes())
    b = inspect_image(sample_files("notumor", 1)[0].read_bytes())
    assert hamming(a.phash, b.phash) > 10
