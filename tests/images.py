"""Real image files made in tests: valid scans from the shipped sample, and every kind of junk."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

from PIL import Image

from engine.settings import REPO_ROOT

SAMPLE = REPO_ROOT / "assets" / "sample"
SHARED_TRAINING = REPO_ROOT.parent / "shared" / "data" / "brain-tumor-mri" / "Training"


def sample_files(cls: str, n: int) -> list[Path]:
    return sorted((SAMPLE / "Training" / cls).glob("*.jpg"))[:n]


def png_bytes(size=(64, 64), mode="L") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, 128).save(buf, format="PNG")
    return buf.getvalue()


def truncated_jpeg() -> bytes:
    data = sample_files("glioma", 1)[0].read_bytes()
    return data[: len(data) // 2]


def bomb_png() -> bytes:
    """A tiny PNG that declares 20000x20000 pixels (400 M): must be refused before decoding."""
    buf = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def messy_tree(root: Path) -> Path:
    """A Kaggle-like tree with the junk users' copies contain; returns its root.

    Valid: 3 glioma + 2 no_tumor (Training) + 2 pituitary_tumor (Testing) = 7.
    Junk: .DS_Store, .ipynb_checkpoints/, zero-byte, truncated, text renamed .jpg, unknown class, loose file.
    """
    train, test = root / "Training", root / "Testing"
    for src in sample_files("glioma", 3):
        (train / "Glioma").mkdir(parents=True, exist_ok=True)
        shutil.copy(src, train / "Glioma" / src.name)
    for src in sample_files("notumor", 2):
        (train / "no_tumor").mkdir(parents=True, exist_ok=True)
        shutil.copy(src, train / "no_tumor" / src.name)
    for src in sample_files("pituitary", 2):
        (test / "pituitary_tumor").mkdir(parents=True, exist_ok=True)
        shutil.copy(src, test / "pituitary_tumor" / src.name)
    (train / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (train / "Glioma" / ".ipynb_checkpoints").mkdir()
    shutil.copy(sample_files("glioma", 1)[0], train / "Glioma" / ".ipynb_checkpoints" / "copy-checkpoint.jpg")
    (train / "Glioma" / "empty.jpg").write_bytes(b"")
    (train / "Glioma" / "truncated.jpg").write_bytes(truncated_jpeg())
    (train / "no_tumor" / "notes.jpg").write_text("<html>not an image</html>")
    (train / "astrocytoma").mkdir()
    shutil.copy(sample_files("glioma", 1)[0], train / "astrocytoma" / "x.jpg")
    (root / "README.txt").write_text("loose file")
    return root


def zip_tree(tree: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(tree.parent).as_posix())
    return target


def bad_inputs(tmp: Path) -> dict[str, Path]:
    """Every kind of bad upload the Classify page must refuse, made as real files."""
    import pydicom
    from pydicom.data import get_testdata_file

    files = {}

    def put(name: str, data: bytes) -> None:
        files[name] = tmp / name
        files[name].write_bytes(data)

    put("zero.jpg", b"")
    put("truncated.jpg", truncated_jpeg())
    put("page.jpg", b"<!DOCTYPE html><html><body>not a scan</body></html>")
    put("text.jpg", b"just some text\n" * 20)
    put("doc.jpg", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    put("bomb.png", bomb_png())
    put("huge.jpg", b"\xff\xd8\xff" + b"\x00" * (51 * 1024 * 1024))
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    del ds.PixelData
    buf = io.BytesIO()
    ds.save_as(buf)
    put("nopixels.dcm", buf.getvalue())
    put("series.dcm", Path(get_testdata_file("SC_rgb_rle_2frame.dcm")).read_bytes())  # bundled 2-frame series
    put("cut.dcm", Path(get_testdata_file("MR_truncated.dcm")).read_bytes())
    return files


def odd_but_valid(tmp: Path) -> dict[str, Path]:
    """Valid scans in awkward encodings: 16-bit PNG, CMYK JPEG, palette PNG, RGBA PNG."""
    import numpy as np

    src = Image.open(sample_files("glioma", 1)[0]).convert("L")
    out = {}
    arr16 = np.asarray(src, dtype=np.uint16) * 257
    out["sixteen.png"] = Image.fromarray(arr16.astype(np.uint16))
    out["cmyk.jpg"] = src.convert("CMYK")
    out["palette.png"] = src.convert("P")
    out["rgba.png"] = src.convert("RGBA")
    paths = {}
    for name, img in out.items():
        paths[name] = tmp / name
        img.save(paths[name])
    return paths


def mr_dicom(img: Image.Image):
    """A real scan as an uncompressed 8-bit MR DICOM dataset (``ds.compress(uid)`` packs it)."""
    import numpy as np

    from engine.data.shifts import mr_dataset

    return mr_dataset(np.asarray(img.convert("L")), 8)
