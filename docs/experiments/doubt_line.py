"""Add the brain-MRI check's doubt line (``doubt_below``: the 1% quantile of held-out real scans, clean and
shifted, unclamped) to a model's ood.json without refitting anything: the check's networks stay as they are,
and its held-out rows are built again exactly as `benchmark refusal` builds them. Checks fitted since carry the
line already (:func:`engine.ml.mri_check.fit_from_rows`).

    .venv/bin/python docs/experiments/doubt_line.py [MODEL_ID]     # HDFS up; default: the shipped model
"""

from __future__ import annotations

import json
import sys

import numpy as np

from engine.bench.refusal import _shipped_check_rows, _unseen_real
from engine.clinic.classify import Classifier
from engine.hdfs.storage import Storage
from engine.ml import registry
from engine.ml.inference import load_model
from engine.ml.mri_check import fit_doubt_line, fit_threshold, scores
from engine.settings import get_settings


def main(model_id: str | None) -> None:
    settings = get_settings()
    storage = Storage(settings)
    clf = Classifier(load_model(settings, storage, model_id))
    x, all_paths, paths, not_mri, _ = _unseen_real(settings, storage, clf, 600)
    rows = _shipped_check_rows(clf, x, all_paths, set(paths), not_mri)
    check = clf.ood["mri_check"]
    heldout = scores(rows["heldout"], check)
    line = fit_doubt_line(heldout)
    print(f"{len(heldout)} held-out rows; threshold {fit_threshold(heldout):.3f} (stored {check['threshold']:.3f}); doubt line {line:.3f}")
    print("held-out quantiles 0.5/1/2/5%:", np.round(np.quantile(heldout, [0.005, 0.01, 0.02, 0.05]), 3).tolist())
    path = clf.loaded.folder / "ood.json"
    stats = json.loads(path.read_text())
    stats["mri_check"]["doubt_below"] = line
    path.write_text(json.dumps(stats))
    remote = f"{registry.models_root()}/{clf.model_id}/ood.json"
    if storage.exists(remote):
        storage.write(remote, path.read_bytes(), overwrite=True)
    print(f"written to {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
