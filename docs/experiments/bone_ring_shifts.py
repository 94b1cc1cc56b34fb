"""The CT-bone test (engine.data.bone_ring) on real brain MRI under every upload shift of `benchmark refusal`, read
the way the clinic reads an upload: how often a shifted real scan reaches the review and the refusal tier.

    .venv/bin/python docs/experiments/bone_ring_shifts.py ../shared/data/brain-tumor-mri/Training 1000

Samples N scans at random (seed 0), leaving out the files listed as not brain MRI (assets/data/not-brain-mri.json).
"""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from engine.data.bone_ring import REFUSE_ABOVE, REVIEW_ABOVE
from engine.data.not_brain_mri import listed_digests
from engine.data.shifts import shifted

sys.path.insert(0, str(Path(__file__).parent))
from bone_ring_dataset import share  # noqa: E402


def main(folder: Path, n: int) -> None:
    listed = listed_digests()
    files = [p for p in sorted(folder.glob("*/*")) if hashlib.sha256(p.read_bytes()).hexdigest() not in listed]
    pick = np.random.default_rng(0).choice(len(files), min(n, len(files)), replace=False)
    scores: dict[str, list[float]] = {}
    worst: dict[str, tuple[float, str]] = {}
    for i in pick:
        path = files[i]
        for name, data in shifted(Image.open(io.BytesIO(path.read_bytes())), screenshots=True):
            s = share(name, data)
            scores.setdefault(name, []).append(s)
            if not np.isnan(s) and s > worst.get(name, (-1.0, ""))[0]:
                worst[name] = (s, f"{path.parent.name}/{path.name}")
    print(f"{len(pick)} real scans; shift: review tier, refusal tier (highest, its scan)")
    for name, v in scores.items():
        a = np.array(v)
        print(f"{name:<45} {int((a >= REVIEW_ABOVE).sum()):>4} {int((a >= REFUSE_ABOVE).sum()):>4}   ({worst[name][0]:.2f} {worst[name][1]})")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
