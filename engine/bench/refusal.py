"""`benchmark refusal`: which inputs the clinic refuses. Real held-out scans under each shift an upload can
carry (false refusals, flagged for review, accuracy of the answers), and images that are not brain MRI, by group."""

from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image

from engine.classes import CLASSES
from engine.clinic import gate
from engine.data.shifts import jpeg_bytes
from engine.hdfs.storage import Storage
from engine.png import png_bytes
from engine.settings import Settings

COLOUR_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png")
# the groups whose every source is also left out alone (real images of other modalities: a check refit per source)
SOURCE_LEFT_OUT_GROUPS = ("ct", "nm", "us", "xray", "mr-other")
DICOM_GROUP = "DICOM files of other modalities (as exported)"
COLOUR_GROUP = "photographs, colour"


def negative_uploads(variants: int = 4, seed: int = 1) -> list[dict]:
    """Images that are not brain MRI as they reach the clinic: every source of :mod:`engine.data.negatives` as a
    grey PNG (as it is and ``variants`` random views, drawn with another seed than the check learnt from), colour
    photographs as JPEG, and pydicom's DICOM files of other modalities as they are."""
    import os

    import pydicom
    import skimage
    from sklearn.datasets import load_sample_images

    from engine.data.negatives import GROUPS, PYDICOM_SOURCES, negatives, with_variants

    out = [
        {"name": f"{n.source}-{k}.png", "data": png_bytes(n.image), "source": n.source, "group": GROUPS[n.group], "grey": True}
        for k, n in enumerate(with_variants(negatives(seed), variants, seed))
    ]
    colour = [(f"photo-{i}", Image.fromarray(a)) for i, a in enumerate(load_sample_images().images)]
    colour += [(name, Image.open(os.path.join(os.path.dirname(skimage.__file__), "data", name)).convert("RGB")) for name in COLOUR_PHOTOS]
    out += [{"name": f"{n}.jpg", "data": jpeg_bytes(img, 90), "source": n, "group": COLOUR_GROUP, "grey": False} for n, img in colour]
    folder = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
    for source, (name, _) in PYDICOM_SOURCES.items():
        if os.path.exists(os.path.join(folder, name)):
            with open(os.path.join(folder, name), "rb") as f:
                out.append({"name": name, "data": f.read(), "source": source, "group": DICOM_GROUP, "grey": False})
    return out


def _by_group(uploads: list[dict], answers: list, key: str = "group") -> dict:
    """Per group (or per ``key`` of the uploads): refused, and answered but flagged for review (no plain answer
    either); of those, how many by the CT-bone test (engine.data.bone_ring), which no refit of the check moves, and
    how many refused by two doubts together (the check's low 1% with a far or CT-like scan)."""
    groups: dict[str, list] = {}
    for u, a in zip(uploads, answers):
        groups.setdefault(u[key], []).append(a)
    out = {}
    for k, v in sorted(groups.items()):
        refused, flagged = sum(a.rejected for a in v), sum(a.uncertain and not a.rejected for a in v)
        out[k] = {
            "n": len(v),
            "refused": int(refused),
            "share": refused / len(v),
            "flagged": int(flagged),
            "refused_as_ct": sum(a.reason == gate.CT_REASON for a in v),
            "flagged_ct_bone": sum(a.reason == gate.CT_DOUBT_REASON for a in v),
            "refused_two_doubts": sum(a.reason == gate.TWO_DOUBTS_REASON for a in v),
        }
    return out


def _shipped_check_rows(clf, x: np.ndarray, all_paths: list[str], val_paths: set[str], not_mri: dict[str, bool]) -> dict:
    """What the shipped brain-MRI check was fitted from, built again (so a group can be left out of it): its
    training scans, the threshold half of its validation split, the dataset's images that are not brain MRI."""
    from engine.ml.mri_check import check_rows, threshold_half
    from engine.ml.ood import features_of

    is_val = np.array([p in val_paths for p in all_paths])
    nm = np.array([not_mri[p] for p in all_paths])
    half = threshold_half([p for p, v in zip(all_paths, is_val) if v])
    return check_rows(features_of(clf.loaded.model), x[~is_val], x[is_val], not_mri=(nm[~is_val], nm[is_val]), in_threshold=half)


def _refits(rows: dict, leave_outs: list[dict]) -> list[dict]:
    """The brain-MRI check refitted once per leave-out (:func:`fit_from_rows`'s keywords), on every core: the
    fits are independent and each runs on one thread."""
    from joblib import Parallel, delayed

    from engine.ml.mri_check import fit_from_rows

    return Parallel(n_jobs=-1)(delayed(fit_from_rows)(rows, **kw) for kw in leave_outs)


def _left_out(clf, uploads: list[dict], rows: dict) -> dict:
    """Each group of grey negatives judged by a check refitted without any image of that group: what a kind of
    image the check never saw meets (the whole gate, not the check alone)."""
    from engine.data.negatives import GROUPS

    base, out = clf.ood, {}
    groups = {key: mine for key, group in GROUPS.items() if (mine := [u for u in uploads if u["grey"] and u["group"] == group])}
    checks = _refits(rows, [{"leave_out_group": key} for key in groups])
    try:
        for mine, check in zip(groups.values(), checks):
            clf.ood = {**base, "mri_check": check}
            out.update(_by_group(mine, clf.classify([(u["name"], u["data"]) for u in mine])))
    finally:
        clf.ood = base
    return out


def _source_left_out(clf, uploads: list[dict], rows: dict, groups: tuple[str, ...] = SOURCE_LEFT_OUT_GROUPS) -> tuple[dict, dict]:
    """Each source of the other modalities judged by a check refitted without that one source (the other images
    of its kind stay): what a new image of a kind the check knows meets, the case the clinic sees most. Returns
    (per group, per source)."""
    from engine.data.negatives import GROUPS

    wanted = {GROUPS[g] for g in groups}
    base, answers, names = clf.ood, [], []
    mine = [u for u in uploads if u["grey"] and u["group"] in wanted]
    sources = sorted({u["source"] for u in mine})
    checks = _refits(rows, [{"leave_out": source} for source in sources])
    try:
        for source, check in zip(sources, checks):
            of_source = [u for u in mine if u["source"] == source]
            clf.ood = {**base, "mri_check": check}
            answers += clf.classify([(u["name"], u["data"]) for u in of_source])
            names += of_source
    finally:
        clf.ood = base
    return _by_group(names, answers), _by_group(names, answers, key="source")


def _other_source_brain_mri(clf) -> dict:
    """Real brain MRI slices from other scanners and exporters (npm packages' test data, never trained on or used
    for fitting; ``assets/reference/other-source-brain-mri``): refused, flagged, and the answers. Unlabelled: the
    20-slice series is of a brain without a visible tumour, its lowest slices pass through the mouth and teeth."""
    from engine.settings import REPO_ROOT

    paths = sorted((REPO_ROOT / "assets" / "reference" / "other-source-brain-mri").glob("*.png"))
    answers = clf.classify([(p.name, p.read_bytes()) for p in paths])
    answered = [a for a in answers if not a.rejected]
    return {
        "n": len(answers),
        "refused": sum(a.rejected for a in answers),
        "flagged": sum(a.uncertain and not a.rejected for a in answers),
        "answers": {c: sum(a.label == c for a in answered) for c in CLASSES},
        "plain_answers": {c: sum(a.label == c and not a.uncertain for a in answered) for c in CLASSES},
        "per_file": {p.name: "refused" if a.rejected else f"{a.label}{' (flagged)' if a.uncertain else ''}" for p, a in zip(paths, answers)},
    }


def _unseen_negatives(clf) -> dict:
    """Real images of other modalities the brain-MRI check never learnt from (``assets/reference/unseen-negatives``,
    kept out of the library by a test), uploaded as grey PNG: refused, flagged, and what each met. No refit: the
    shipped gate as a new hospital's screenshot meets it."""
    from engine.data.negatives import GROUPS
    from engine.settings import REPO_ROOT

    paths = sorted((REPO_ROOT / "assets" / "reference" / "unseen-negatives").glob("*.png"))
    answers = clf.classify([(p.name, p.read_bytes()) for p in paths])
    return {
        "n": len(answers),
        "refused": sum(a.rejected for a in answers),
        "flagged": sum(a.uncertain and not a.rejected for a in answers),
        "plain_answers": sum(not a.rejected and not a.uncertain for a in answers),
        "by_group": _by_group([{"group": GROUPS.get(p.name.split("__")[0], "other")} for p in paths], answers),
        "per_file": {p.name: "refused" if a.rejected else f"{a.label}{' (flagged)' if a.uncertain else ''}" for p, a in zip(paths, answers)},
    }


def _shift_rows(clf, real: list[tuple[str, bytes, int]]) -> dict:
    from engine.data.shifts import SCREENSHOT_SHIFTS, SHIFTS, shifted

    per_shift: dict[str, list[tuple[bool, bool, bool]]] = {name: [] for name in [*SHIFTS, *SCREENSHOT_SHIFTS]}
    for _, data, label in real:
        uploads = shifted(Image.open(io.BytesIO(data)), screenshots=True)
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
            # what a clinician would take at face value and should not: answered without a flag, and wrong
            "wrong_plain_answers": float((answered & ~o[:, 1] & ~o[:, 2]).mean()),
        }
    return rows


def _unseen_real(settings: Settings, storage: Storage, clf, real_limit: int):
    """The training images, and the model's unseen real scans: (x, all paths, validation paths, not-brain-MRI by
    path, [(path, bytes, label)])."""
    from engine.data import datasets
    from engine.data.not_brain_mri import not_brain_mri
    from engine.data.preprocess import read_prepared
    from engine.ml.mri_check import threshold_half
    from engine.ml.ood import validation_paths

    x, y, all_paths = read_prepared(storage, clf.loaded.card["training"]["dataset"], clf.loaded.size)  # read once, used twice
    paths = validation_paths(settings, storage, clf.loaded, all_paths, y)
    listed = datasets.read_manifest(storage, clf.loaded.card["training"]["dataset"])
    not_mri = dict(zip(all_paths, not_brain_mri(listed, all_paths)))
    # the half that set no threshold, less the dataset's images that are not brain MRI: refusing those is right
    unseen = [p for p, half in zip(paths, threshold_half(paths)) if not half and not not_mri[p]][:real_limit]
    manifest = listed.set_index("path")
    real = [(p, storage.read(p), CLASSES.index(manifest.loc[p, "class"])) for p in unseen]
    return x, all_paths, paths, not_mri, real


def benchmark_refusal(
    settings: Settings, storage: Storage, model_id: str | None = None, real_limit: int = 600, shift_limit: int = 120, leave_out: bool = True
) -> dict:
    """Non-MRI images refused (by group, and with each source left out of the brain-MRI check), real held-out
    scans falsely refused (as they are, and under each shift) on the half of the validation split that set no
    threshold."""
    from engine.clinic.classify import Classifier
    from engine.ml.inference import load_model

    clf = Classifier(load_model(settings, storage, model_id))
    uploads = negative_uploads()
    answers = clf.classify([(u["name"], u["data"]) for u in uploads])
    refused = [a.rejected for a in answers]
    x, all_paths, paths, not_mri, real = _unseen_real(settings, storage, clf, real_limit)
    real_answers = clf.classify([(p, d) for p, d, _ in real])
    false_refusals = [{"path": p, "reason": a.reason} for (p, _, _), a in zip(real, real_answers) if a.rejected]
    per_class = {c: [a.rejected for (_, _, y), a in zip(real, real_answers) if y == i] for i, c in enumerate(CLASSES)}
    rng = np.random.default_rng(0)
    shift_sample = [real[i] for i in sorted(rng.choice(len(real), min(shift_limit, len(real)), replace=False))]
    result = {
        "kind": "refusal",
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "model": clf.model_id,
        "dataset": clf.loaded.card["training"]["dataset"],
        "non_mri": len(uploads),
        "non_mri_refused": int(sum(refused)),
        "non_mri_refused_share": sum(refused) / len(uploads),
        "by_group": _by_group(uploads, answers),
        "non_mri_flagged": sum(a.uncertain and not a.rejected for a in answers),
        "not_refused_examples": [u["name"] for u, r in zip(uploads, refused) if not r][:20],
        "real_scans": len(real),
        "real_from": "the half of the model's validation split that set no threshold (the model never trained on it), less the dataset's images listed as not brain MRI",
        "real_falsely_refused": len(false_refusals),
        "real_falsely_refused_share": len(false_refusals) / max(1, len(real)),
        "real_falsely_refused_per_class": {c: sum(v) / max(1, len(v)) for c, v in per_class.items()},
        "false_refusal_examples": false_refusals[:10],
        "uncertain_share_of_real": sum(a.uncertain for a in real_answers) / max(1, len(real)),
        "real_flagged_ct_bone": sum(a.reason == gate.CT_DOUBT_REASON for a in real_answers),
        "other_source_brain_mri": _other_source_brain_mri(clf),
        "unseen_negatives": _unseen_negatives(clf),
        "shifts": _shift_rows(clf, shift_sample),
        "shift_scans": len(shift_sample),
    }
    if leave_out and clf.ood and clf.ood.get("mri_check"):
        rows = _shipped_check_rows(clf, x, all_paths, set(paths), not_mri)
        result["by_group_left_out"] = _left_out(clf, uploads, rows)
        grey = [u for u in uploads if u["grey"]]
        result["left_out_note"] = f"{len(grey)} grey images, each group judged by a check refitted without any image of that group"
        result["by_group_source_left_out"], result["by_source_left_out"] = _source_left_out(clf, uploads, rows)
        result["source_left_out_note"] = "each source of the other modalities judged by a check refitted without that source (the rest of its kind stays)"
    return result
