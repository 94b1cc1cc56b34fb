"""A hostile-file corpus written by the tests: decompression bombs, lying headers, malformed and truncated files.

Every file is small on disk; what makes it hostile is what it declares (a size, a length, a compression ratio).
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

from tests.images import mr_dicom, sample_files


# ---------------------------------------------------------------------- DICOM
def _dicom_parts(rows: int, cols: int, transfer_syntax: str, bits: int = 16, frames: int = 1, extra=None):
    """(file meta bytes incl. preamble, dataset-without-pixel-data bytes in explicit VR little endian)."""
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset, write_file_meta_info
    from pydicom.uid import MRImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = pydicom.uid.PYDICOM_IMPLEMENTATION_UID
    head = DicomBytesIO()
    head.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(head, meta, enforce_standard=True)
    ds = Dataset()
    ds.SOPClassUID = MRImageStorage
    ds.Modality = "MR"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    for key, value in (extra or {}).items():
        setattr(ds, key, value)
    body = DicomBytesIO()
    body.is_little_endian, body.is_implicit_VR = True, False
    write_dataset(body, ds)
    return head.getvalue(), body.getvalue()


def _pixel_header(length: int, encapsulated: bool = False) -> bytes:
    # (7FE0,0010) OW, two reserved bytes, 4-byte length (0xFFFFFFFF: encapsulated fragments follow)
    return struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, 0xFFFFFFFF if encapsulated else length)


def deflate_bomb_dicom(rows: int = 16_000, cols: int = 16_000) -> bytes:
    """Deflated transfer syntax; the header declares rows x cols 16-bit pixels, all zeros: ~0.5 MB on disk."""
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    head, body = _dicom_parts(rows, cols, DeflatedExplicitVRLittleEndian)
    length = rows * cols * 2
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    out = [comp.compress(body + _pixel_header(length))]
    chunk = b"\x00" * (16 * 2**20)
    for _ in range(length // len(chunk)):
        out.append(comp.compress(chunk))
    out.append(comp.compress(b"\x00" * (length % len(chunk))))
    out.append(comp.flush())
    return head + b"".join(out)


def rle_bomb_dicom(rows: int = 40_000, cols: int = 40_000) -> bytes:
    """RLE Lossless; the header declares 40,000 x 40,000 pixels, the data is one tiny segment."""
    from pydicom.uid import RLELossless

    head, body = _dicom_parts(rows, cols, RLELossless, bits=8)
    segment = bytes([0x81, 0x00]) * 64  # "repeat 0 128 times", 64 times
    rle = struct.pack("<16I", 1, 64, *([0] * 14)) + segment
    items = struct.pack("<HHI", 0xFFFE, 0xE000, 0)  # empty basic offset table
    items += struct.pack("<HHI", 0xFFFE, 0xE000, len(rle)) + rle
    items += struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    return head + body + _pixel_header(0, encapsulated=True) + items


def lying_size_dicom() -> bytes:
    """Uncompressed; declares 46,000 x 46,000 16-bit pixels but carries 1 KB of them."""
    from pydicom.uid import ExplicitVRLittleEndian

    head, body = _dicom_parts(46_000, 46_000, ExplicitVRLittleEndian)
    return head + body + _pixel_header(1024) + b"\x00" * 1024


def short_pixels_dicom() -> bytes:
    """A plausible 512 x 512 header with half its pixel data missing."""
    from pydicom.uid import ExplicitVRLittleEndian

    head, body = _dicom_parts(512, 512, ExplicitVRLittleEndian)
    return head + body + _pixel_header(512 * 512) + b"\x00" * (512 * 512)


def malformed_tag_dicom() -> bytes:
    """Rows (0028,0010) is a US with a 3-byte value, and Columns holds text: tags that do not parse."""
    from pydicom.uid import ExplicitVRLittleEndian

    head, body = _dicom_parts(256, 256, ExplicitVRLittleEndian)
    rows = struct.pack("<HH2sH", 0x0028, 0x0010, b"US", 2) + b"\x00\x01"
    cols = struct.pack("<HH2sH", 0x0028, 0x0011, b"US", 2) + b"\x00\x01"
    body = body.replace(rows, struct.pack("<HH2sH", 0x0028, 0x0010, b"US", 3) + b"abc")
    body = body.replace(cols, struct.pack("<HH2sH", 0x0028, 0x0011, b"US", 2) + b"zz")
    return head + body + _pixel_header(256 * 256 * 2) + b"\x00" * (256 * 256 * 2)


def zero_length_dicom() -> bytes:
    """Rows and Columns present with zero-length values."""
    from pydicom.uid import ExplicitVRLittleEndian

    head, body = _dicom_parts(256, 256, ExplicitVRLittleEndian)
    for tag in (0x0010, 0x0011):
        body = body.replace(struct.pack("<HH2sH", 0x0028, tag, b"US", 2) + b"\x00\x01", struct.pack("<HH2sH", 0x0028, tag, b"US", 0))
    return head + body + _pixel_header(256 * 256 * 2) + b"\x00" * (256 * 256 * 2)


def huge_length_dicom() -> bytes:
    """An element whose length field claims 4 GB in a file of a few hundred bytes."""
    from pydicom.uid import ExplicitVRLittleEndian

    head, body = _dicom_parts(256, 256, ExplicitVRLittleEndian)
    return head + body + struct.pack("<HH2sHI", 0x0009, 0x0010, b"OB", 0, 0xFFFFFFF0) + b"\x00" * 64


def truncated_real_dicom() -> bytes:
    from pydicom.data import get_testdata_file

    data = Path(get_testdata_file("MR_small.dcm")).read_bytes()
    return data[: len(data) * 2 // 3]


def codestream_lie_dicom(syntax: str = "JPEGLSLossless", side: int = 60_000) -> bytes:
    """A real scan as a compressed DICOM whose header says 224 x 224 and whose codestream (JPEG-LS or JPEG 2000)
    is patched to declare side x side: the decoder would allocate the codestream's size."""
    import io

    import pydicom.uid
    from PIL import Image
    from pydicom.encaps import encapsulate, generate_fragmented_frames

    ds = mr_dicom(Image.open(sample_files("glioma", 1)[0]).resize((224, 224)))
    ds.compress(getattr(pydicom.uid, syntax))
    stream = bytearray(b"".join(next(generate_fragmented_frames(ds.PixelData))))
    if syntax == "JPEGLSLossless":  # SOF55: marker, length, precision, height, width
        at = stream.index(b"\xff\xf7")
        stream[at + 5 : at + 9] = struct.pack(">HH", side, side)
    else:  # SOC, SIZ: marker, Lsiz, Rsiz, Xsiz, Ysiz
        stream[8:16] = struct.pack(">II", side, side)
    ds.PixelData = encapsulate([bytes(stream)])
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    assert len(buf.getvalue()) < 100_000  # small on disk: what it declares is what makes it hostile
    return buf.getvalue()


# ---------------------------------------------------------------------- PNG / JPEG
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_dimension_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A 16-bit greyscale PNG whose IHDR declares width x height, with a few bytes of IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + _png_chunk(b"IEND", b"")


def jpeg_dimension_bomb() -> bytes:
    """A real scan's JPEG with its frame header (SOF) patched to declare 65,000 x 65,000 pixels."""
    data = bytearray(sample_files("glioma", 1)[0].read_bytes())
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5 : i + 9] = struct.pack(">HH", 65_000, 65_000)
            return bytes(data)
        i += 2 + length
    raise AssertionError("no SOF marker in the sample JPEG")


# ---------------------------------------------------------------------- corpus
def classify_corpus(folder: Path) -> dict[str, Path]:
    """Each hostile file, written into ``folder``; the name says what it is."""
    files = {
        "deflate-bomb-16000px.dcm": deflate_bomb_dicom(),
        "rle-bomb-40000px.dcm": rle_bomb_dicom(),
        "lying-size-46000px.dcm": lying_size_dicom(),
        "short-pixel-data.dcm": short_pixels_dicom(),
        "malformed-tags.dcm": malformed_tag_dicom(),
        "zero-length-elements.dcm": zero_length_dicom(),
        "length-4GB-element.dcm": huge_length_dicom(),
        "truncated-real.dcm": truncated_real_dicom(),
        "jpegls-codestream-60000px.dcm": codestream_lie_dicom("JPEGLSLossless"),
        "j2k-codestream-60000px.dcm": codestream_lie_dicom("JPEG2000Lossless"),
        "png-bomb-100000px.png": png_dimension_bomb(),
        "jpeg-bomb-65000px.jpg": jpeg_dimension_bomb(),
        "zero-bytes.dcm": b"",
        "DICM-magic-only.dcm": b"\x00" * 128 + b"DICM" + b"\xff" * 16,
    }
    paths = {}
    for name, data in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths


def zip_bomb(target: Path, declared_mb: int = 400) -> Path:
    """One entry of ``declared_mb`` MB of zeros (compresses ~1000:1) inside a class folder."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("glioma/bomb.jpg", "w", force_zip64=True) as entry:
            block = b"\x00" * 2**20
            for _ in range(declared_mb):
                entry.write(block)
    return target


def hostile_names_zip(target: Path) -> Path:
    """Zip-slip, absolute, symlink and odd-name entries beside two real scans."""
    good = sample_files("glioma", 2)
    with zipfile.ZipFile(target, "w") as zf:
        zf.writestr("glioma/" + good[0].name, good[0].read_bytes())
        zf.writestr("../../escape/glioma/evil.jpg", good[1].read_bytes())
        zf.writestr("/abs/glioma/evil.jpg", good[1].read_bytes())
        link = zipfile.ZipInfo("glioma/link.jpg")
        link.external_attr = 0o120777 << 16  # a symbolic link entry
        zf.writestr(link, "/etc/passwd")
        zf.writestr("glioma/scan:with#odd%chars ü.jpg", good[1].read_bytes())
        zf.writestr("glioma/ünïcode-名前.jpg", good[0].read_bytes()[:-1] + b"\xd9")  # same pixels, other bytes
    return target


def many_entries_zip(target: Path, n: int) -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for i in range(n):
            zf.writestr(f"glioma/{i:06d}.jpg", b"x")
    return target
