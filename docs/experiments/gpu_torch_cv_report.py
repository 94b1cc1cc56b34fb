"""The table of `gpu_torch_cv.py`'s runs: per recipe (and per ensemble of recipes, logits averaged), the errors of
each fold read as shipped, accuracy, every class's recall, and the ECE after a temperature fitted on each fold's
inner validation scans only. Several results.npz may be given (later runs add recipes); a recipe met twice must
agree to the logit's last bit or the report says so.

    python docs/experiments/gpu_torch_cv_report.py OUT1/results.npz OUT2/results.npz --json summary.json
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np

CLASSES = ("glioma", "meningioma", "notumor", "pituitary")
ENSEMBLES = {
    "base + base-seed2": ("base", "base-seed2"),
    "width1.5-epochs60, two seeds": ("width1.5-epochs60", "width1.5-epochs60-seed2"),
    "every 60-epoch recipe (6 models)": ("epochs60", "width1.5-epochs60", "width1.5-epochs60-seed2", "width2-epochs60", "mixup-epochs60", "width3-epochs60"),
}


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def temperature(logits: np.ndarray, y: np.ndarray) -> float:
    grid = np.exp(np.linspace(np.log(0.2), np.log(5), 241))
    return float(min(grid, key=lambda t: -log_softmax(logits / t)[np.arange(len(y)), y].mean()))


def ece(logits: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    p = np.exp(log_softmax(logits))
    confidence, hit = p.max(1), p.argmax(1) == y
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    return float(sum(abs(hit[which == b].mean() - confidence[which == b].mean()) * (which == b).mean() for b in range(bins) if (which == b).any()))


def load(paths: list[str]) -> dict:
    runs: dict = defaultdict(dict)
    for path in paths:
        for key, value in np.load(path).items():
            recipe, fold, name = key.split("/")
            old = runs[(recipe, fold)].get(name)
            if old is not None and name.startswith("read") and not np.array_equal(old, value):
                print(f"{recipe} {fold} {name}: two runs differ (largest gap {np.abs(old - value).max():.3g})")
            runs[(recipe, fold)][name] = value
    return runs


def score(folds: list[dict]) -> dict:
    rows, y_all, read_all, calibrated = [], [], [], []
    for r in folds:
        t = temperature(r["read_val"], r["y_val"])
        rows.append({"n": int(len(r["y_test"])), "errors": int((r["read_test"].argmax(1) != r["y_test"]).sum()), "temperature": round(t, 3)})
        y_all.append(r["y_test"])
        read_all.append(r["read_test"])
        calibrated.append(r["read_test"] / t)
    y, read = np.concatenate(y_all), np.concatenate(read_all)
    hit = read.argmax(1) == y
    return {
        "folds": rows,
        "errors": int((~hit).sum()),
        "n": int(len(y)),
        "accuracy": round(float(hit.mean()), 5),
        "recall": {c: round(float(hit[y == k].mean()), 4) for k, c in enumerate(CLASSES)},
        "ece": round(ece(np.concatenate(calibrated), y), 4),
        "errors_read_once": int((np.concatenate([r["plain_test"] for r in folds]).argmax(1) != y).sum()),
        "train_seconds_per_fold": round(float(np.mean([r["seconds"] for r in folds])), 1) if "seconds" in folds[0] else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", nargs="+")
    parser.add_argument("--json")
    args = parser.parse_args()
    runs = load(args.results)
    recipes = sorted({r for r, _ in runs}, key=lambda r: list(dict.fromkeys(r for r, _ in runs)).index(r))
    complete = {r: [runs[(r, f"fold-{k}")] for k in range(1, 6)] for r in recipes if all((r, f"fold-{k}") in runs for k in range(1, 6))}
    report = {r: score(folds) for r, folds in complete.items()}
    for name, members in ENSEMBLES.items():
        if all(m in complete for m in members):
            folds = []
            for k in range(5):
                parts = [complete[m][k] for m in members]
                folds.append(
                    {
                        key: np.mean([p[key] for p in parts], axis=0) if key.startswith(("read", "plain")) else parts[0][key]
                        for key in ("read_test", "read_val", "plain_test", "y_test", "y_val")
                    }
                )
            report[name] = score(folds)
    print(f"{'recipe':36} {'folds (errors)':26} {'errors':>7} {'accuracy':>9} {'glioma':>7} {'mening.':>7} {'notum.':>7} {'pituit.':>7} {'ECE':>6} {'once':>5}")
    for name, s in report.items():
        per_fold = " ".join(f"{row['errors']:>3}" for row in s["folds"])
        recall = " ".join(f"{100 * s['recall'][c]:6.1f}%" for c in CLASSES)
        print(f"{name:36} {per_fold:26} {s['errors']:>7} {100 * s['accuracy']:8.2f}% {recall} {100 * s['ece']:5.2f}% {s['errors_read_once']:>5}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=1)


if __name__ == "__main__":
    main()
