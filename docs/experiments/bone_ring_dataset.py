"""The CT-bone test (engine.data.bone_ring) on every scan of a dataset folder, read the way the clinic reads an
upload (decode, screen, re-frame, prepare at 128 px), and on the repo's real images that are not brain MRI.

    .venv/bin/python docs/experiments/bone_ring_dataset.py ../shared/data/brain-tumor-mri/Training

Prints, per class, how many real scans reach the review tier and the refusal tier, the same for the files listed
as not brain MRI (assets/data/not-brain-mri.json), the scans scoring highest (where CT filed as MRI turns up), and
each head CT image of the library and of the unseen negatives at every window the library renders it at.
"""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import numpy as np

from engine.clinic.classify import read_uploads
from engine.data import negatives
from engine.data.bone_ring import REFUSE_ABOVE, REVIEW_ABOVE, bone_ring_share
from engine.data.not_brain_mri import listed_digests
from engine.data.pixels import prepare_pil
from engine.settings import REPO_ROOT


def share(name: str, data: bytes) -> float:
    answer = read_uploads([(name, data)])[0]
    if answer.rejected or answer.grey is None:
        return float("nan")
    s = bone_ring_share(prepare_pil(answer.grey, 128, 1))
    return float("nan") if s is None else s


def png(img) -> bytes:
    out = io.BytesIO()
    img.convert("L").save(out, "PNG")
    return out.getvalue()


def tiers(scores: np.ndarray) -> str:
    return f"{len(scores)} scans: review tier {int((scores >= REVIEW_ABOVE).sum())}, refusal tier {int((scores >= REFUSE_ABOVE).sum())}, highest {np.nanmax(scores):.2f}"


def main(folder: Path) -> None:
    files = sorted(p for p in folder.glob("*/*") if p.is_file())
    listed = listed_digests()
    rows = []
    for p in files:
        data = p.read_bytes()
        rows.append((p.parent.name, p.name, hashlib.sha256(data).hexdigest() in listed, share(p.name, data)))
    scores = np.array([r[3] for r in rows])
    is_listed = np.array([r[2] for r in rows])
    classes = np.array([r[0] for r in rows])
    for c in sorted(set(classes)):
        print(f"{c:<12} real:   {tiers(scores[(classes == c) & ~is_listed])}")
    print(f"{'all':<12} real:   {tiers(scores[~is_listed])}")
    print(f"{'listed CT':<12}         {tiers(scores[is_listed])}")
    top = np.argsort(-np.nan_to_num(np.where(is_listed, -1, scores)))[:15]
    print("highest real scans:", ", ".join(f"{rows[i][0]}/{rows[i][1]} {scores[i]:.2f}" for i in top))
    for item in negatives.negatives():
        if item.group == "ct":
            print("library", item.source, [round(share("x.png", png(v)), 2) for v in (item.image, *item.renderings)])
    for p in sorted((REPO_ROOT / "assets" / "reference" / "unseen-negatives").glob("ct__*.png")):
        print("unseen", p.name, round(share(p.name, p.read_bytes()), 2))
    other = [share(p.name, p.read_bytes()) for p in sorted((REPO_ROOT / "assets" / "reference" / "other-source-brain-mri").glob("*.png"))]
    print(f"brain MRI of other scanners: {tiers(np.array(other))}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
