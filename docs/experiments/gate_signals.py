"""Record every signal the gate weighs, scan by scan, so a change of its rules can be measured offline.

Wraps :func:`engine.clinic.gate.verdict` and records its inputs (the brain-MRI check's score and threshold, the
CT-bone share, the feature distance and its two thresholds, the layout distance, the top probability) and its
verdict, tagged with where the call came from:

    # real scans in cross-validation: each fold's own model, check and thresholds (reuses cached fold models)
    .venv/bin/python docs/experiments/gate_signals.py cv OUT.jsonl -- benchmark cv kaggle-train --folds 5 \
        --size 128 --epochs 60 --fold 2 --json
    # images that are not brain MRI, as the shipped gate and with a kind or a source left out of its check
    .venv/bin/python docs/experiments/gate_signals.py refusal OUT.jsonl -- benchmark refusal --json

Then ``two_doubts.py OUT*.jsonl`` scores rules over the records.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from engine.bench import cv_report, refusal
from engine.clinic import classify, gate

RECORDS: list[dict] = []
STATE = {"tag": "main", "names": [], "labels": []}


def _verdict(probs, distance, ood, layout_distance=None, mri_score=None, looks=None):
    v = ORIGINAL_VERDICT(probs, distance, ood, layout_distance, mri_score, looks)
    check = (ood or {}).get("mri_check") or {}
    looks = looks or gate.Looks()
    name = STATE["names"].pop(0) if STATE["names"] else None
    label = STATE["labels"].pop(0) if STATE["labels"] else None
    RECORDS.append(
        {
            "tag": STATE["tag"],
            "name": name,
            "label": label,
            "answer": int(np.argmax(probs)),
            "top": float(np.max(probs)),
            "mri_score": mri_score,
            "mri_threshold": check.get("threshold"),
            "bone": looks.bone_ring,
            "span": looks.span,
            "side": looks.side,
            "distance": distance,
            "review_at": (ood or {}).get("threshold"),
            "refuse_at": gate.refuse_threshold(ood) if ood else None,
            "layout": layout_distance,
            "layout_at": ((ood or {}).get("layout") or {}).get("threshold"),
            "rejected": v.rejected,
            "uncertain": v.uncertain,
            "reason": v.reason,
        }
    )
    return v


def _tagged(tag: str, fn):
    def run(*args, **kwargs):
        before, STATE["tag"] = STATE["tag"], tag
        try:
            return fn(*args, **kwargs)
        finally:
            STATE["tag"] = before

    return run


def _answer(self, answers, log=None, source="cli"):
    STATE["names"] = [a.file for a in answers if a.grey is not None and not a.rejected]
    return ORIGINAL_ANSWER(self, answers, log, source)


def _fold_report(a, screened, layouts, check=None, not_mri=None, looks=None):
    STATE["calls"] = STATE.get("calls", 0) + 1
    STATE["labels"] = [int(v) for v in a["y_test"]]
    listed = None if not_mri is None else not_mri["test"]
    STATE["names"] = [f"listed-{i}" if listed is not None and listed[i] else f"scan-{i}" for i in range(len(a["y_test"]))]
    return _tagged(f"cv-reading-{STATE['calls']}", ORIGINAL_FOLD_REPORT)(a, screened, layouts, check, not_mri, looks)


ORIGINAL_VERDICT = gate.verdict
ORIGINAL_ANSWER = classify.Classifier.answer
ORIGINAL_FOLD_REPORT = cv_report.fold_report


def main() -> int:
    mode, out, rest = sys.argv[1], sys.argv[2], sys.argv[sys.argv.index("--") + 1 :]
    gate.verdict = _verdict
    classify.Classifier.answer = _answer
    if mode == "cv":
        cv_report.fold_report = _fold_report
    else:
        for fn in ("_left_out", "_source_left_out", "_other_source_brain_mri", "_unseen_negatives", "_shift_rows"):
            setattr(refusal, fn, _tagged(fn.strip("_"), getattr(refusal, fn)))
    from engine.cli.main import main as cli

    rc = cli(rest)
    with open(out, "w") as f:
        for r in RECORDS:
            f.write(json.dumps(r) + "\n")
    print(f"{len(RECORDS)} verdicts recorded in {out}", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
