"""The card's cross-validated figures say how many real brain MRI were refused, with the dataset's head CT slices
counted apart, from the shipped cross-validation result itself."""

import json

from engine.ml.intended_use import as_read, figures, summarise_cv
from engine.settings import REPO_ROOT


def _shipped_cv() -> dict:
    return json.loads(next((REPO_ROOT / "assets" / "reference").glob("cv-*.json")).read_text())


def test_the_card_states_real_brain_mri_refused_and_the_ct_slices_apart():
    result = _shipped_cv()
    cv = summarise_cv(result, flip=True)
    assert cv["test_time_flip"] and cv["refused"] == result["test_time_flip"]["refused_brain_mri"]["mean"]
    assert cv["refused_labelled"] == result["test_time_flip"]["refused"]["mean"] > cv["refused"]
    assert cv["not_brain_mri"] == {"n": 43, "refused": result["test_time_flip"]["not_brain_mri_in_dataset"]["refused"]}
    text = figures({"cross_validation": cv})
    assert f"real brain MRI refused {cv['refused']:.1%}" in text and "of the 43 head CT slices" in text


def test_figures_of_before_the_list_still_read_as_real_scans_refused():
    result = _shipped_cv()
    old = {**result, "test_time_flip": {k: v for k, v in result["test_time_flip"].items() if k not in ("refused_brain_mri", "not_brain_mri_in_dataset")}}
    cv = summarise_cv(old, flip=True)
    assert "not_brain_mri" not in cv and cv["refused"] == cv["refused_labelled"]
    assert "real scans refused" in figures({"cross_validation": cv})


def test_figures_say_when_they_were_read_otherwise_than_the_model_reads():
    result = _shipped_cv()
    cv = summarise_cv(result, flip=True)
    assert "as this model reads it" in figures({"cross_validation": cv, "input": {"test_time_flip": True, "test_time_rim": cv["test_time_rim"]}})
    other = 0.94 if cv["test_time_rim"] == 1.0 else 1.0
    older = figures({"cross_validation": {**cv, "test_time_rim": 1.0}, "input": {"test_time_flip": True, "test_time_rim": 0.94}})
    assert "read as uploaded and mirrored (this model reads it in a thin black rim)" in older
    newer = figures({"cross_validation": {**cv, "test_time_rim": 0.94}, "input": {"test_time_flip": True, "test_time_rim": 1.0}})
    assert "read in a thin black rim and mirrored (this model reads it as uploaded)" in newer
    assert "as this model reads it" not in figures({"cross_validation": cv, "input": {"test_time_flip": True, "test_time_rim": other}})


def test_a_result_as_read_shows_the_shipped_reading_only_when_every_fold_has_it():
    result = _shipped_cv()
    read = as_read(result)
    assert read["accuracy"] == result["test_time_flip"]["accuracy"] and read["read"] is result["test_time_flip"]
    assert [f["accuracy"] for f in read["folds"]] == [f["test_time_flip"]["accuracy"] for f in result["folds"]]
    assert [f["fold"] for f in read["folds"]] == [f["fold"] for f in result["folds"]]
    partial = {**result, "test_time_flip": {**result["test_time_flip"], "folds": result["test_time_flip"]["folds"][:-1]}}
    assert as_read(partial) is partial and summarise_cv(partial, flip=True)["test_time_flip"] is False
