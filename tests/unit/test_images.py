"""Image checks: every kind of junk gets a one-line reason; real scans pass and hash stably."""

import io

import pytest
from PIL import Image

from engine.data.image_checks import hamming, inspect_image, open_image
from engine.errors import InputError
from tests.images import bomb_png, png_bytes, sample_files, truncated_jpeg


def _encoded(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


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
        (png_bytes(size=(4000, 40)), "4000x40 pixels, 100 times as long as it is wide"),
        (_encoded(Image.new("L", (64, 64)), "GIF"), "an image in GIF format; use JPEG or PNG"),
    ],
)
def test_junk_is_refused_with_a_reason(data, reason):
    with pytest.raises(InputError, match=reason):
        open_image(data, "upload.jpg")


def test_a_16_9_screenshot_is_not_a_strip():
    assert open_image(png_bytes(size=(1920, 1080))).size == (1920, 1080)


def test_a_float_tiff_keeps_its_grey_levels():
    """A float export (0-1, or any range) is stretched like a 16-bit one, not clipped to black and white by Pillow."""
    import numpy as np

    from engine.data.scans import read_scan

    scan = Image.open(sample_files("glioma", 1)[0]).convert("L")
    grey = np.asarray(scan, dtype=np.float32)
    for values in (grey / 255, grey * 40 - 1000):
        read = np.asarray(read_scan(_encoded(Image.fromarray(values), "TIFF")).image, dtype=np.float32)
        assert len(np.unique(read)) > 100
        assert np.corrcoef(read.ravel(), grey.ravel())[0, 1] > 0.999


def test_a_16_bit_tiff_is_read_like_a_16_bit_png():
    """A 16-bit TIFF opens as Pillow's I;16, which Pillow cannot shrink by more than half: it was refused as unreadable."""
    import numpy as np

    from engine.data.scans import read_scan

    scan = Image.open(sample_files("glioma", 1)[0]).convert("L").resize((512, 512))
    grey = np.asarray(scan, dtype=np.uint16) * 257
    tiff, png = (_encoded(Image.fromarray(grey), fmt) for fmt in ("TIFF", "PNG"))
    assert Image.open(io.BytesIO(tiff)).mode == "I;16"
    np.testing.assert_array_equal(np.asarray(read_scan(tiff).image), np.asarray(read_scan(png).image))


def test_ingest_reads_a_16_bit_scan_as_the_clinic_does():
    """Preprocessing and the duplicate hash read a 16-bit export over its full range: Pillow's own conversion
    clipped it to near white, so distinct 16-bit scans trained as white squares and hashed alike."""
    import numpy as np

    from engine.data.pixels import prepare_image, prepare_pil
    from engine.data.scans import read_scan

    scans = [np.asarray(Image.open(p).convert("L"), dtype=np.uint16) * 257 for p in sample_files("glioma", 2)]
    wide = [_encoded(Image.fromarray(a), "PNG") for a in scans]
    eight = [_encoded(Image.fromarray((a // 257).astype(np.uint8)), "PNG") for a in scans]
    for w, e in zip(wide, eight):
        np.testing.assert_array_equal(prepare_image(w), prepare_pil(read_scan(w).image))
        assert np.abs(prepare_image(w).astype(int) - prepare_image(e).astype(int)).max() <= 3  # rounding of two stretches
        assert hamming(inspect_image(w).phash, inspect_image(e).phash) <= 4
    assert hamming(inspect_image(wide[0]).phash, inspect_image(wide[1]).phash) > 40


def test_a_jpeg_rotated_by_its_exif_tag_is_read_upright_as_viewers_show_it():
    import numpy as np

    from engine.data.pixels import prepare_image, prepare_pil
    from engine.data.scans import read_scan

    upright = Image.open(sample_files("glioma", 1)[0]).convert("L")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display", as phones and some viewers store it
    buf = io.BytesIO()
    upright.rotate(90, expand=True).save(buf, format="JPEG", quality=95, exif=exif.tobytes())
    for read in (np.asarray(read_scan(buf.getvalue()).image), prepare_image(buf.getvalue())[..., 0]):
        want = np.asarray(upright) if read.shape == upright.size[::-1] else prepare_pil(upright)[..., 0]
        assert np.abs(read.astype(float) - want).mean() < 3
    # a damaged EXIF block: the pixels are still read, as stored
    damaged = bytearray(buf.getvalue())
    at = damaged.find(b"Exif\x00\x00")
    damaged[at + 10 : at + 30] = b"\xff" * 20
    assert read_scan(bytes(damaged)).image.size == (upright.height, upright.width)
    assert prepare_image(bytes(damaged)).shape == (128, 128, 1)


def test_distinct_classes_are_far_apart():
    a = inspect_image(sample_files("glioma", 1)[0].read_bytes())
    b = inspect_image(sample_files("notumor", 1)[0].read_bytes())
    assert hamming(a.phash, b.phash) > 10
