"""Score gate rules over the signals recorded by ``gate_signals.py``: would a scan with two independent doubts
(the brain-MRI check leaning "not MRI", a CT-like bone ring, a feature distance beyond the review threshold) be
better refused than flagged? Prints, per rule, what it adds to the refusals of real brain MRI (cross-validation
folds, the model's unseen scans, other scanners, shifted uploads) and of images that are not brain MRI.

    .venv/bin/python docs/experiments/two_doubts.py /tmp/gs/*.jsonl
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict

from engine.data import bone_ring


def doubts(r: dict, margin: float = 0.0) -> dict[str, bool]:
    """The three doubts of one scan; ``margin``: how far above log-odds 0 the check's score still counts as one."""
    return {
        "mri": r["mri_score"] is not None and r["mri_threshold"] is not None and r["mri_score"] < margin,
        "bone": r["bone"] is not None and r["bone"] >= bone_ring.REVIEW_ABOVE,
        "far": r["distance"] is not None and r["review_at"] is not None and r["distance"] > r["review_at"],
    }


RULES = {
    "check doubt + bone": lambda d: d["mri"] and d["bone"],
    "check doubt + far": lambda d: d["mri"] and d["far"],
    "bone + far": lambda d: d["bone"] and d["far"],
    "any two": lambda d: sum(d.values()) >= 2,
}


def kind(r: dict) -> str:
    """Which population a record belongs to; real brain MRI kinds start with "real"."""
    tag, name = r["tag"], r["name"] or ""
    if tag.startswith("cv-reading"):
        return "real: cv fold scans" if name.startswith("scan-") else "not MRI: cv listed CT"
    if tag == "main":
        return "real: unseen scans" if name.startswith("/mri/") else "not MRI: shipped gate"
    if tag == "other_source_brain_mri":
        return "real: other scanners"
    if tag == "shift_rows":
        return "real: shifted uploads"
    return f"not MRI: {tag}"


def main(paths: list[str]) -> None:
    records = [json.loads(line) for p in paths for line in open(p)]
    # a cv run records two readings of its fold; the second is the shipped one (rim, mirror, lifted)
    records = [r for r in records if r["tag"] != "cv-reading-1"]
    groups: dict[str, list] = defaultdict(list)
    for r in records:
        groups[kind(r)].append(r)
    print(f"{'population':34} {'n':>6} {'refused':>8} {'flagged':>8} | " + " | ".join(f"{k:>18}" for k in RULES))
    for g, rows in sorted(groups.items()):
        refused = sum(r["rejected"] for r in rows)
        flagged = sum(r["uncertain"] and not r["rejected"] for r in rows)
        adds = []
        for rule in RULES.values():
            extra = [r for r in rows if not r["rejected"] and rule(doubts(r))]
            adds.append(f"+{len(extra):>5} ({len(extra) / len(rows):6.2%})")
        print(f"{g:34} {len(rows):>6} {refused:>8} {flagged:>8} | " + " | ".join(f"{a:>18}" for a in adds))
    real_cv = [r for r in groups.get("real: cv fold scans", []) if not r["rejected"]]
    for name, rule in RULES.items():
        hit = Counter(r["label"] for r in real_cv if rule(doubts(r)))
        print(f"cv real scans added by '{name}', per class: {dict(sorted(hit.items()))}")


if __name__ == "__main__":
    main(sys.argv[1:])
