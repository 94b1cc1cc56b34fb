"""`benchmark refusal`: which inputs the clinic refuses. Real held-out scans under each shift an upload can
carry (false refusals, flagged for review, accuracy of the answers), and images that are not brain MRI, by group."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from engine.classes import CLASSES
from engine.hdfs.storage import Storage
from engine.png import png_bytes
from engine.settings import Settings

GROUPS = {
    "photo-grey": "photographs, grey",
    "photo-colour": "photographs, colour",
    "dicom-not-mr": "other modalities (DICOM CT and others)",
    "text": "documents and screenshots",
    "screenshot": "documents and screenshots",
}  # the rest: noise and synthetic patterns


def _group(name: str) -> str:
    from engine.bench.classify import non_mri_kind

    return GROUPS.get(non_mri_kind(name), "noise and synthetic patterns")


def screenshots(count: int = 6, seed: int = 1) -> list[tuple[str, bytes]]:
    """Screenshots of software: a title bar, panels, buttons and text, in grey and in colour."""
    rng = np.random.default_rng(seed)
    out = []
    for j in range(count):
        img = Image.new("RGB", (480, 320), (240, 240, 240) if j % 2 else (30, 30, 36))
        draw = ImageDraw.Draw(img)
        draw.rectangle((0, 0, 480, 24), fill=(60, 90, 160) if j % 3 else (90, 90, 90))
        for _ in range(5):
            x0, y0 = int(rng.integers(0, 380)), int(rng.integers(30, 260))
            draw.rectangle(
                (x0, y0, x0 + int(rng.integers(60, 200)), y0 + int(rng.integers(20, 60))),
                outline=(128, 128, 128),
                fill=tuple(int(v) for v in rng.integers(150, 255, 3)),
            )
        for line in range(10):
            draw.text((12, 34 + 26 * line), f"Patient list  item {line}  status ok", fill=(0, 0, 0) if j % 2 else (220, 220, 220))
        out.append((f"screenshot-{j}.png", png_bytes(img if j % 3 else img.convert("L"))))
    return out


def _shift_rows(clf, real: list[tuple[str, bytes, int]]) -> dict:
    from engine.bench.shifts import SHIFTS, shifted

    per_shift: dict[str, list[tuple[bool, bool, bool]]] = {name: [] for name in SHIFTS}
    for _, data, label in real:
        uploads = shifted(Image.open(io.BytesIO(data)))
        for (name, _), a in zip(uploads, clf.classify(uploads)):
            per_shift[name].append((a.rejected, a.uncertain and not a.rejected, a.label == CLASSES[label]))
    rows = {}
    for name, outcomes in per_shift.items():
        o = np.array(outcomes, dtype=bool).reshape(-1, 3)
        answered = ~o[:, 0]
        rows[name] = {
            "n": len(o),
            "refused": float(o[:, 0].mean()),
            "uncertain": float(o[:, 1].mean()),
            "accuracy_answered": float(o[answered, 2].mean()) if answered.any() else None,
        }
    return rows


def benchmark_refusal(settings: Settings, storage: Storage, model_id: str | None = None, real_limit: int = 600, shift_limit: int = 120) -> dict:
    """Non-MRI images refused (by group), real held-out scans falsely refused (as they are, and under each shift)."""
    from engine.bench.classify import non_mri_images, non_mri_kind
    from engine.clinic.classify import Classifier
    from engine.data import datasets
    from engine.ml.inference import load_model
    from engine.ml.ood import validation_paths

    clf = Classifier(load_model(settings, storage, model_id))
    fakes = non_mri_images() + screenshots()
    fake_answers = clf.classify(fakes)
    by_kind: dict[str, list[bool]] = {}
    by_group: dict[str, list[bool]] = {}
    for (name, _), a in zip(fakes, fake_answers):
        by_kind.setdefault(non_mri_kind(name), []).append(a.rejected)
        by_group.setdefault(_group(name), []).append(a.rejected)
    paths = validation_paths(settings, storage, clf.loaded)[:real_limit]
    manifest = datasets.read_manifest(storage, clf.loaded.card["training"]["dataset"]).set_index("path")
    real = [(p, storage.read(p), CLASSES.index(manifest.loc[p, "class"])) for p in paths]
    real_answers = clf.classify([(p, d) for p, d, _ in real])
    false_refusals = [{"path": p, "reason": a.reason} for (p, _, _), a in zip(real, real_answers) if a.rejected]
    rng = np.random.default_rng(0)
    shift_sample = [real[i] for i in sorted(rng.choice(len(real), min(shift_limit, len(real)), replace=False))]
    return {
        "model": clf.model_id,
        "non_mri": len(fakes),
        "non_mri_refused": sum(a.rejected for a in fake_answers),
        "non_mri_refused_share": sum(a.rejected for a in fake_answers) / len(fakes),
        "by_kind": {k: {"n": len(v), "refused": int(sum(v))} for k, v in sorted(by_kind.items())},
        "by_group": {k: {"n": len(v), "refused": int(sum(v)), "share": sum(v) / len(v)} for k, v in sorted(by_group.items())},
        "real_scans": len(real),
        "real_from": "the model's validation split (which set its thresholds: an optimistic figure; `benchmark cv` has the honest one)",
        "real_falsely_refused": len(false_refusals),
        "real_falsely_refused_share": len(false_refusals) / max(1, len(real)),
        "false_refusal_examples": false_refusals[:10],
        "uncertain_share_of_real": sum(a.uncertain for a in real_answers) / max(1, len(real)),
        "shifts": _shift_rows(clf, shift_sample),
        "shift_scans": len(shift_sample),
    }
