"""How the 2026-12-04 (second batch) additions to assets/negatives/ were made: real images from the test data of a
Go module and from two Debian packages, saved as grey PNG (longest side at most 512 px), pixels only. Each was first
put through the shipped gate as an image it had never seen (docs/model.md), then added.

    mkdir pkgs && cd pkgs
    GOPATH=$PWD/go GOFLAGS=-modcacherw go mod download github.com/suyashkumar/dicom@v1.0.7
    apt-get download invesalius-examples pixelmed-www && for d in *.deb; do dpkg -x "$d" deb; done
    tar xzf deb/usr/share/doc/invesalius-examples/examples/Cranium.inv3 -C .   # an InVesalius project: a tar.gz
    cd /path/to/repo && .venv/bin/python docs/experiments/extract_registry_images.py pkgs

The head CT slices are kept out of the library, in assets/reference/unseen-negatives/ (since 2026-12-04 afternoon):
`benchmark refusal` reports how the shipped gate meets them.
"""

import glob
import os
import sys

import numpy as np
from extract_package_images import _dicom, save  # this folder is on sys.path when run as a script
from PIL import Image

GO_DICOM = "go/pkg/mod/github.com/suyashkumar/dicom@v1.0.7/testdata"
PIXELMED = "deb/usr/share/pixelmed/images"
# skull base to lateral ventricles: at the stored window the shipped gate answered all four "glioma" unseen. Measured
# in the library and left out of it: learning them cost a whole kind left out 93.5% -> 86% refused (docs/model.md)
HEAD_CT_SLICES = (36, 45, 54, 63)


def _windowed(values: np.ndarray, low: float, high: float) -> Image.Image:
    return Image.fromarray((np.clip((values - low) / (high - low), 0, 1) * 255).astype(np.uint8))


def _invesalius_head_ct(root: str, z: int, level: float = -18, width: float = 406) -> Image.Image:
    """An axial slice of InVesalius' example head CT (ProMED CT 0051: 108 x 256 x 256 int16, stored upside down),
    by default at the window the project file stores (level -18, width 406), as InVesalius shows it."""
    (matrix,) = glob.glob(os.path.join(root, "*", "matrix.dat"))
    volume = np.memmap(matrix, dtype="<i2", mode="r", shape=(108, 256, 256))
    return _windowed(np.asarray(volume[z], dtype=np.float32)[::-1], level - width / 2, level + width / 2)


def _pet(root: str, name: str) -> Image.Image:
    """A PET slice scaled to its 99.5th percentile, as a viewer shows it (its hottest voxel alone leaves it black)."""
    import pydicom

    values = pydicom.dcmread(os.path.join(root, GO_DICOM, name)).pixel_array.astype(np.float32)
    return _windowed(values, 0, float(np.percentile(values, 99.5)))


def head_ct(root: str) -> dict[str, Image.Image]:
    """The four slices at the stored window, and one at a brain window (level 40, width 80) the gate refuses."""
    out = {f"ct__ct-head-invesalius-z{z}": _invesalius_head_ct(root, z) for z in HEAD_CT_SLICES}
    return {**out, "ct__ct-head-invesalius-z54-brain-window": _invesalius_head_ct(root, 54, 40, 80)}


def negatives(root: str) -> dict[str, Image.Image]:
    return {
        "ct__ct-head-cornerstone": _dicom(os.path.join(root, GO_DICOM), "5.dcm"),  # frame 0 of 2
        "mr-other__mr-prostate": _dicom(os.path.join(root, GO_DICOM), "3.dcm"),
        "xray__xray-chest-portable": _dicom(os.path.join(root, GO_DICOM), "4.dcm"),
        "nm__pet-breast": _pet(root, "1.dcm"),
        "us__us-breast-screenshot": Image.open(os.path.join(root, PIXELMED, "DicomImageBlackoutColorUltrasound.png")),
    }


if __name__ == "__main__":
    root, repo = sys.argv[1], os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for stem, image in negatives(root).items():
        save(image, os.path.join(repo, "assets", "negatives", stem + ".png"))
    for stem, image in head_ct(root).items():  # measured in the library, left out of it: what the gate meets unseen
        save(image, os.path.join(repo, "assets", "reference", "unseen-negatives", stem + ".png"))
