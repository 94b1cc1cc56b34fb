"""A model card's intended use: what the model reads, what it was trained on, how well it does on scans it never
saw, and what it must not be used for. The same words on the Models page and in every PDF report."""

from __future__ import annotations

from engine.ml.test_time import how_read

USE = (
    "Decision support for reading single 2-D brain MRI slices (T1 with contrast, T2, FLAIR; axial, coronal or "
    "sagittal) of adults: glioma, meningioma, pituitary tumour or no tumour. A physician reviews every answer."
)
OUT_OF_SCOPE = (
    "other pathologies (metastases, stroke, haemorrhage, multiple sclerosis, infection): the model knows four classes and will name one of them",
    "other modalities (CT, X-ray, ultrasound, PET, nuclear medicine) and MRI of other body parts",
    # what the CT-bone test (engine.data.bone_ring; docs/model.md, "A CT-bone test") leaves: no white skull ring to see
    "head CT screenshots in particular: a head CT whose skull shows as a white ring is refused or flagged, but a slice "
    "at the skull base, or one shown at a bone window, can be answered as a tumour (only a CT DICOM file is refused "
    "for certain, by its header)",
    # ami.js's diffusion-weighted brain slice (benchmark refusal, other scanners) is refused: no such slice was trained on
    "other MRI sequences (diffusion-weighted, perfusion, functional EPI): the training scans are T1, T2 and FLAIR, and "
    "such slices may be refused or answered less reliably",
    "children: the training scans are of adults",
    "post-operative scans and scans after radiotherapy",
    "3-D volumes and screening: one slice at a time, chosen by a reader",
    # the shifts of `benchmark refusal` that cost accuracy without a refusal (docs/model.md: the model learnt framing)
    "screenshots showing the slice zoomed out, cropped or much darker than exported (answers go wrong without a refusal; "
    "zoomed-out and much darker ones are flagged for review, cropped ones are not: upload the slice as exported)",
    "slices turned on their side or upside down (the model reads upright slices; turned ones are often answered "
    "wrongly without a flag: turn the slice upright before uploading)",
)


def trained_on(card: dict) -> str:
    t = card.get("training", {})
    return f"{t.get('images', '?'):,} labelled slices of dataset {t.get('dataset', '?')} (the public Kaggle brain-tumour MRI set: figshare, SARTAJ and Br35H scans)"


def figures(card: dict) -> str:
    """The cross-validated figures when the card has them, else the validation split's, said to be optimistic."""
    cv = card.get("cross_validation")
    if cv:
        done = f"{cv['folds_done']} of {cv['folds']} folds" if cv["folds_done"] < cv["folds"] else f"{cv['folds']}-fold"
        cv_rim, model_rim = cv.get("test_time_rim", 1.0), card.get("input", {}).get("test_time_rim", 1.0)
        reads = ", as this model reads it" if cv_rim == model_rim else f" (this model reads it {how_read(model_rim)})"
        flip = f", each scan read {how_read(cv_rim)} and mirrored{reads}" if cv.get("test_time_flip") else ""
        return (
            f"cross-validated ({done}, {cv['n']:,} scans each tested by a model that never saw it; its recipe, retrained per fold{flip}): "
            f"accuracy {cv['accuracy']:.1%}, lowest class recall {cv['lowest_recall']:.1%} ({cv['lowest_recall_class']}), "
            f"{refused_text(cv)}, flagged for review {cv['uncertain']:.1%}, calibration error {cv['ece']:.3f}"
        )
    v = card["validation"]
    return f"accuracy {v['accuracy']:.1%} on its validation split of {v['n']} scans (the split that chose it: an optimistic figure)"


def refused_text(cv: dict) -> str:
    ct = cv.get("not_brain_mri")
    if not ct:  # figures of before 2026-12-02 10:52 counted every labelled scan as real
        return f"real scans refused {cv['refused']:.1%}"
    also = f" (and {ct['refused']} of the {ct['n']} head CT slices the dataset files as brain MRI, rightly)" if ct["n"] else ""
    return f"real brain MRI refused {cv['refused']:.1%}{also}"


def shipped_reading(result: dict) -> dict | None:
    """A `benchmark cv` result's figures with the folds read as the shipped model reads (``test_time_flip``:
    mirrored, in a rim, dark scans lifted; :mod:`engine.ml.test_time`) when every measured fold has them, else None."""
    read = result.get("test_time_flip")
    return read if read and len(read["folds"]) == result["folds_done"] else None


def as_read(result: dict) -> dict:
    """The result with its figures and fold rows replaced by those of the shipped reading, and that reading's
    summary under ``read``, when every fold has it; else the result as it is."""
    read = shipped_reading(result)
    if read is None:
        return result
    folds = [{"fold": f["fold"], **f["test_time_flip"]} for f in result["folds"]]
    return {**result, **{k: v for k, v in read.items() if k != "folds"}, "folds": folds, "read": read}


def summarise_cv(result: dict, flip: bool = False) -> dict:
    """The card's ``cross_validation`` entry from a `benchmark cv` result; ``flip``: the figures of the folds read
    with test-time flip (:mod:`engine.ml.test_time`), as a model whose card has it on reads scans, when every
    measured fold has them."""
    flipped = shipped_reading(result) if flip else None
    figures = flipped or result
    recalls = {c: v["mean"] for c, v in figures["per_class_recall"].items()}
    lowest = min(recalls, key=recalls.get)
    return {
        "folds": result["recipe"]["folds"],
        "folds_done": result["folds_done"],
        "n": figures["n"],
        "accuracy": figures["accuracy"]["pooled"],
        "accuracy_min_fold": figures["accuracy"]["min"],
        "lowest_recall": recalls[lowest],
        "lowest_recall_class": lowest,
        "refused": figures.get("refused_brain_mri", figures["refused"])["mean"],  # real brain MRI refused
        "refused_labelled": figures["refused"]["mean"],  # every labelled scan, the dataset's CT slices included
        **({"not_brain_mri": figures["not_brain_mri_in_dataset"]} if "not_brain_mri_in_dataset" in figures else {}),
        "uncertain": figures["uncertain"]["mean"],
        "ece": figures["ece"]["mean"],
        "test_time_flip": flipped is not None,
        "test_time_rim": float(flipped.get("rim", 1.0)) if flipped else 1.0,
        "recipe": {k: result["recipe"][k] for k in ("epochs", "size", "batch_size", "learning_rate", "label_smoothing", "seed")},
        "command": f"python -m engine benchmark cv {result['dataset']} --folds {result['recipe']['folds']} --size {result['recipe']['size']}",
    }


def intended_use(card: dict) -> dict:
    return {"use": USE, "trained_on": trained_on(card), "figures": figures(card), "out_of_scope": list(OUT_OF_SCOPE)}
