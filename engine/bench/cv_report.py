"""The figures of one cross-validation fold, and their summary over folds (the `benchmark cv` JSON)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from engine.classes import CLASSES
from engine.clinic import gate
from engine.clinic.classify import screen
from engine.data.exposure import fit_exposure
from engine.data.scans import read_scan
from engine.errors import InputError
from engine.hdfs.storage import Storage
from engine.ml.calibration import calibrated_probabilities, expected_calibration_error, fit_temperature
from engine.ml.config import TrainConfig
from engine.ml.layout import fit_layout, layout_distance
from engine.ml.mri_check import fit_from_rows, scores
from engine.ml.ood import fit_ood, mahalanobis


def screen_dataset(storage: Storage, name: str, paths: list[str]) -> np.ndarray:
    """For each path, whether the clinic's checks before the model (colour, blank, DICOM modality) refuse its
    original file: the dataset's real scans put through what an upload goes through."""
    from engine.data.preprocess import read_packed

    table = read_packed(storage, name)
    content = dict(zip(table.column("path").to_pylist(), table.column("content").to_pylist()))
    refused = np.zeros(len(paths), dtype=bool)
    for i, path in enumerate(paths):
        try:
            refused[i] = screen(read_scan(content[path])) is not None
        except (InputError, KeyError):
            refused[i] = True
    return refused


def _rates(flags: np.ndarray, labels: np.ndarray) -> dict:
    return {
        "overall": float(flags.mean()) if len(flags) else 0.0,
        "per_class": {c: float(flags[labels == i].mean()) if (labels == i).any() else 0.0 for i, c in enumerate(CLASSES)},
    }


def _verdicts(ood: dict, probs: np.ndarray, distances: np.ndarray, layout: np.ndarray, mri: np.ndarray, looks: np.ndarray) -> list:
    """The gate's verdict on each test scan; ``looks``: (n, 3) content span, brightness and bone-ring share; NaN:
    not measured."""

    def given(v: float) -> float | None:
        return None if np.isnan(v) else float(v)

    return [
        gate.verdict(p, float(d), ood, float(g), given(m), gate.Looks(given(s), given(b), bone_ring=given(r)))
        for p, d, g, m, (s, b, r) in zip(probs, distances, layout, mri, looks)
    ]


def _thresholds(ood: dict) -> dict:
    check = ood.get("mri_check", {})
    return {
        "review": ood["threshold"],
        "refuse": ood["refuse_threshold"],
        "layout": ood["layout"]["threshold"],
        "brain_mri_check": check.get("threshold"),
        "brain_mri_doubt_below": check.get("doubt_below"),
        "dark_below": ood.get("dark_below"),
    }


def _fold_ood(a: dict, scans: dict, layouts: dict, check: dict | None, looks: dict | None) -> dict:
    """The gate's statistics for one fold, every one fitted on the fold's inner training and validation scans."""
    ood = fit_ood(a["feats_train"][scans["train"]], a["y_train"][scans["train"]], a["feats_val"][scans["val"]])
    ood["means"], ood["precision"] = np.asarray(ood["means"]), np.asarray(ood["precision"])
    ood["layout"] = fit_layout(layouts["train"][scans["train"]], layouts["val"][scans["val"]])
    if check is not None:
        ood["mri_check"] = fit_from_rows(check)
    if looks is not None:
        ood.update(fit_exposure(looks["train"][scans["train"], 1]))
    return ood


def fold_report(
    a: dict,
    screened: np.ndarray,
    layouts: dict[str, np.ndarray],
    check: dict | None = None,
    not_mri: dict[str, np.ndarray] | None = None,
    looks: dict[str, np.ndarray] | None = None,
) -> dict:
    """One fold's figures, with the temperature and every refusal threshold fitted on its inner split only.
    ``layouts``: the layout statistics (:mod:`engine.ml.layout`) of the inner training, inner validation and
    test scans; ``check``: the rows the fold's brain-MRI check is fitted from and its test inputs
    (:func:`engine.bench.cv._check_rows`), None to leave the check out; ``not_mri``: masks over the inner
    training, inner validation and test scans ("train", "val", "test") of the images the dataset files as brain
    MRI although they are not (:mod:`engine.data.not_brain_mri`). They are left out of the feature-distance and
    layout statistics, as the shipped model's are; refusing them is right, so ``refused_brain_mri`` counts false
    refusals without them (``refused`` counts every labelled scan); ``looks``: (n, 3) content span
    (:func:`engine.data.framing.content_span`), brightness (:mod:`engine.data.exposure`) and bone-ring share
    (:mod:`engine.data.bone_ring`) of the inner training and test scans, None to leave the framing, darkness and
    CT-bone flags out."""
    none = {part: np.zeros(len(a[f"y_{part}"]), dtype=bool) for part in ("train", "val", "test")}
    scans = {part: ~m for part, m in (not_mri or none).items()}
    temperature = fit_temperature(a["logits_val"], a["y_val"])
    ood = _fold_ood(a, scans, layouts, check, looks)
    layout = layout_distance(layouts["test"], ood["layout"])
    y = a["y_test"]
    probs = calibrated_probabilities(a["logits_test"], temperature)
    distances = mahalanobis(a["feats_test"], ood["means"], ood["precision"])
    mri = np.full(len(y), np.nan) if check is None else scores(check["test"], ood["mri_check"])
    verdicts = _verdicts(ood, probs, distances, layout, mri, np.full((len(y), 3), np.nan) if looks is None else looks["test"])
    by_distance = np.array([v.rejected for v in verdicts])
    refused = screened | by_distance
    uncertain = np.array([v.uncertain for v in verdicts]) & ~refused
    pred = probs.argmax(axis=1)
    accepted = ~refused
    mri = scans["test"]
    return {
        "n": int(len(y)),
        "accuracy": float((pred == y).mean()),
        "per_class": {c: float((pred[y == i] == i).mean()) for i, c in enumerate(CLASSES)},
        "ece": expected_calibration_error(probs, y),
        "refused": {**_rates(refused, y), "by_checks_before_the_model": int(screened.sum()), "by_distance": int((by_distance & ~screened).sum())},
        "refused_brain_mri": {**_rates(refused[mri], y[mri]), "n": int(mri.sum())},
        "not_brain_mri_in_fold": {"n": int((~mri).sum()), "refused": int(refused[~mri].sum())},
        "uncertain": _rates(uncertain, y)["overall"],
        "uncertain_per_class": _rates(uncertain, y)["per_class"],
        "accuracy_accepted": float((pred[accepted] == y[accepted]).mean()) if accepted.any() else 0.0,
        "accuracy_confident": float((pred[accepted & ~uncertain] == y[accepted & ~uncertain]).mean()) if (accepted & ~uncertain).any() else 0.0,
        "errors": int((pred != y).sum()),
        "confusion_matrix": np.bincount(y * len(CLASSES) + pred, minlength=len(CLASSES) ** 2).reshape(len(CLASSES), -1).tolist(),
        "temperature": temperature,
        "thresholds": _thresholds(ood),
        "refused_by_brain_mri_check": int(sum(v.reason == gate.NOT_BRAIN_MRI_REASON for v in verdicts)),
        "flagged_small_frame": int(sum(v.reason == gate.SMALL_FRAME_REASON for v in verdicts)),
        "flagged_dark": int(sum(v.reason == gate.DARK_REASON for v in verdicts)),
        "refused_as_ct": int(sum(v.reason == gate.CT_REASON for v in verdicts)),
        "flagged_ct_bone": int(sum(v.reason == gate.CT_DOUBT_REASON for v in verdicts)),
        "refused_two_doubts": int(sum(v.reason == gate.TWO_DOUBTS_REASON for v in verdicts)),
        "train_seconds": round(float(a["train_seconds"]), 1),
    }


# what must match for folds of two runs to be pooled: the split and the training recipe
SAME_RECIPE = ("dataset", "arch", "mode", "epochs", "batch_size", "size", "learning_rate", "weight_decay", "label_smoothing", "val_fraction", "seed", "limit")


def merge_folds(rows: list[dict], earlier: dict | None, config: TrainConfig, folds: int) -> list[dict]:
    """``rows`` with the folds of an earlier result of the same recipe that ``rows`` lacks, in fold order."""
    if not earlier:
        return rows
    recipe, mine = earlier.get("recipe", {}), dataclasses.asdict(config)
    differ = [k for k in SAME_RECIPE if k in recipe and recipe[k] != mine[k]]
    if recipe.get("folds") != folds or differ or recipe.get("augmentation", "standard") != mine["augmentation"]:
        raise InputError(
            f"The earlier result is of another recipe ({', '.join(differ) or 'folds or augmentation'} differ); its folds cannot be pooled with these."
        )
    have = {r["fold"] for r in rows}
    return sorted(rows + [r for r in earlier["folds"] if r["fold"] not in have], key=lambda r: r["fold"])


def summarise(rows: list[dict], config: TrainConfig, folds: int, folder: str) -> dict:
    result = {
        "kind": "cv",
        "dataset": config.dataset,
        "created": time.strftime("%Y-%m-%d %H:%M"),
        "complete": len(rows) == folds,
        "folds_done": len(rows),
        "folds": rows,
        **_figures(rows),
        "train_seconds": float(sum(r["train_seconds"] for r in rows)),
        "recipe": {**dataclasses.asdict(config), "folds": folds, "trainer": "keras (local), the same loop and schedule as `train`"},
        "folder": folder,
    }
    kept = [r for r in rows if "test_time_flip" in r]
    if kept:  # the folds whose models were kept, read again as the shipped model reads (flip, rim, lifted dark scans)
        from engine.ml.test_time import RIM_SCALE

        result["test_time_flip"] = {
            "folds": [r["fold"] for r in kept],
            "rim": RIM_SCALE,
            **_figures([r["test_time_flip"] for r in kept]),
            "one_reading_accuracy": _figures(kept)["accuracy"]["pooled"],  # the same folds read once: the paired comparison
        }
    return result


def _figures(rows: list[dict]) -> dict:
    """Accuracy, recall, calibration and refusal over folds."""
    acc = [r["accuracy"] for r in rows]
    refused = [r["refused"]["overall"] for r in rows]
    n = sum(r["n"] for r in rows)
    return {
        "n": n,
        "accuracy": {
            "mean": float(np.mean(acc)),
            "min": float(np.min(acc)),
            "max": float(np.max(acc)),
            "pooled": sum(r["accuracy"] * r["n"] for r in rows) / n,
        },
        "per_class_recall": {
            c: {"mean": float(np.mean([r["per_class"][c] for r in rows])), "min": float(np.min([r["per_class"][c] for r in rows]))} for c in CLASSES
        },
        "ece": {"mean": float(np.mean([r["ece"] for r in rows])), "max": float(np.max([r["ece"] for r in rows]))},
        "refused": {
            "mean": float(np.mean(refused)),
            "max": float(np.max(refused)),
            "per_class_max": {c: float(np.max([r["refused"]["per_class"][c] for r in rows])) for c in CLASSES},
        },
        "uncertain": {"mean": float(np.mean([r["uncertain"] for r in rows])), "max": float(np.max([r["uncertain"] for r in rows]))},
        **_brain_mri_refusals(rows),
    }


def _brain_mri_refusals(rows: list[dict]) -> dict:
    """False refusals of real brain MRI (the dataset's images that are not brain MRI set apart), and how many of
    those the folds refused; {} for results measured before the list existed."""
    if not all("refused_brain_mri" in r for r in rows):
        return {}
    refused = [r["refused_brain_mri"]["overall"] for r in rows]
    return {
        "refused_brain_mri": {
            "mean": float(np.mean(refused)),
            "max": float(np.max(refused)),
            "per_class_max": {c: float(np.max([r["refused_brain_mri"]["per_class"][c] for r in rows])) for c in CLASSES},
        },
        "not_brain_mri_in_dataset": {k: sum(r["not_brain_mri_in_fold"][k] for r in rows) for k in ("n", "refused")},
    }
