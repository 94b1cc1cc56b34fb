"""How the 2026-12-04 additions to assets/negatives/ and assets/reference/other-source-brain-mri/ were made: real
images from the test and example data of a PyPI package, two Debian packages and an npm package, saved as grey PNG
(longest side at most 512 px), pixels only. Each was first put through the shipped gate as an image it had never
seen (docs/model.md), then added.

    mkdir pkgs && cd pkgs
    pip download --no-deps --no-binary :all: dicompyler-core==0.5.6 && tar xzf dicompyler-core-0.5.6.tar.gz
    apt-get download octave-dicom insighttoolkit5-examples && for d in *.deb; do dpkg -x "$d" deb; done
    npm pack cornerstone-nifti-image-loader@1.0.0 && mkdir cnil && tar xzf cornerstone-nifti-image-loader-1.0.0.tgz -C cnil
    pip install --target nib nibabel        # NIfTI reader, for this script only
    cd /path/to/repo && PYTHONPATH=pkgs/nib .venv/bin/python docs/experiments/extract_package_images.py pkgs
"""

import os
import sys

import numpy as np
from PIL import Image

from engine.data.scans import read_dicom

ITK = "deb/usr/share/doc/insighttoolkit5-examples/examples/Data"
CNIL = "cnil/package"


def _dicom(root: str, name: str) -> Image.Image:
    with open(os.path.join(root, name), "rb") as f:
        return read_dicom(f.read(), 0).image


def _volume(root: str, name: str) -> np.ndarray:
    """A NIfTI volume turned to RAS (first channel or time point of a 4-D or 5-D one)."""
    import nibabel

    data = np.asanyarray(nibabel.as_closest_canonical(nibabel.load(os.path.join(root, name))).dataobj).astype(float)
    while data.ndim > 3:
        data = data[..., 0]
    return data


def _grey(plane: np.ndarray) -> Image.Image:
    """A slice (x right, y up) as a displayed image, scaled to its 99.5th percentile as a viewer would."""
    top = max(float(np.percentile(plane, 99.5)), 1e-9)
    return Image.fromarray((np.clip(plane.T[::-1] / top, 0, 1) * 255).astype(np.uint8).copy())


def negatives(root: str) -> dict[str, Image.Image]:
    rat = np.fromfile(os.path.join(root, ITK, "RatLungSlice1.raw"), dtype=np.uint8).reshape(128, 128)
    return {
        "ct__ct-neck-shoulder": _dicom(root, "dicompyler-core-0.5.6/tests/testdata/example_data/ct.0.dcm"),
        "other-medical__ct-3d-rendering": _dicom(root, "deb/usr/share/octave/packages/dicom-0.5.1/imdata/CT-MONO2-16-ankle.dcm"),
        "mr-other__mr-pelvis": Image.open(os.path.join(root, ITK, "FatMRISlice.png")),
        "mr-other__mr-rat-thorax": Image.fromarray(rat),
        "mr-other__mr-chest-axial": _grey(_volume(root, f"{CNIL}/examples/data/SC-N-3.nii")[:, :, 9]),
    }


def brain_mri(root: str) -> dict[str, Image.Image]:
    t1 = _volume(root, f"{CNIL}/examples/data/almi5_T1fs_conform.nii.gz")  # its header's axes: the 3rd is coronal
    out = {f"cnil-almi5-coronal-{k}": _grey(t1[:, :, k]) for k in (110, 135, 160)}
    out |= {f"cnil-almi5-axial-{k}": _grey(t1[:, k, :]) for k in (100, 128, 150)}
    five = _volume(root, f"{CNIL}/test/data/5D.nii")
    out |= {f"cnil-5D-axial-{k}": _grey(five[:, :, k]) for k in (70, 100)}
    out["cnil-fmri-epi-axial-18"] = _grey(_volume(root, f"{CNIL}/examples/data/fMRI_Ret_bars.nii.gz")[:, :, 18])
    out["cnil-localizer-coronal"] = _grey(_volume(root, f"{CNIL}/examples/data/2878_1_1_localizerb.nii.gz")[:, 2, :])
    return out


def save(image: Image.Image, target: str) -> None:
    image = image.convert("L")
    image.thumbnail((512, 512))
    image.save(target, optimize=True)


if __name__ == "__main__":
    root, repo = sys.argv[1], os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for stem, image in negatives(root).items():
        save(image, os.path.join(repo, "assets", "negatives", stem + ".png"))
    for stem, image in brain_mri(root).items():
        save(image, os.path.join(repo, "assets", "reference", "other-source-brain-mri", stem + ".png"))
