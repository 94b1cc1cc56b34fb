"""Training (local and every Elephas mode), resume after a kill, evaluate, and the classifier on real and bad files.

A tiny model is trained on the shipped sample through real Spark and Elephas.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from engine.clinic import classification_log
from engine.data import datasets
from engine.data.ingest import ingest_dataset
from engine.data.preprocess import preprocess_dataset
from engine.errors import InputError
from engine.jobs import store as jobs
from engine.ml import registry
from engine.ml.config import TrainConfig
from engine.ml.runs import list_runs, read_history
from engine.ml.training import train
from engine.settings import REPO_ROOT
from tests.images import SAMPLE, bad_inputs, odd_but_valid, sample_files

ENGINE = [sys.executable, "-m", "engine"]
DATASET = "t-models"


@pytest.fixture(scope="module")
def prepared(storage, settings):
    ingest_dataset(storage, SAMPLE, DATASET)
    preprocess_dataset(settings, storage, DATASET, size=64, workers=2)
    yield DATASET
    storage.delete(datasets.dataset_dir(DATASET), recursive=True)


@pytest.fixture(scope="module")
def tiny_model(prepared, settings, storage):
    card = train(settings, storage, TrainConfig(dataset=prepared, epochs=3, batch_size=8, size=64, val_fraction=0.25))
    yield card["model_id"]
    storage.delete(f"{registry.models_root()}/{card['model_id']}", recursive=True)


def test_local_training_registers_a_card(tiny_model, settings, storage):
    folder = registry.fetch(settings, storage, tiny_model)
    card = json.loads((folder / "card.json").read_text())
    assert card["classes"] == ["glioma", "meningioma", "notumor", "pituitary"]
    assert card["input"]["size"] == 64 and len(card["history"]) == 3
    assert set(card["validation"]) >= {"n", "accuracy", "accuracy_ci95", "macro_f1", "per_class", "confusion_matrix", "ece"}
    assert (folder / "ood.json").exists()
    assert storage.exists(f"{registry.models_root()}/{tiny_model}/model.keras")


@pytest.mark.parametrize("mode", ["synchronous", "asynchronous", "hogwild"])
def test_elephas_modes_train(prepared, settings, storage, mode):
    card = train(settings, storage, TrainConfig(dataset=prepared, mode=mode, workers=2, epochs=1, batch_size=4, size=64, val_fraction=0.25))
    try:
        assert card["training"]["mode"] == mode and card["validation"]["n"] > 0
        assert len(card["history"]) == 1
    finally:
        storage.delete(f"{registry.models_root()}/{card['model_id']}", recursive=True)


def test_synchronous_workers_keep_their_compiled_model(prepared, settings, storage):
    card = train(settings, storage, TrainConfig(dataset=prepared, mode="synchronous", workers=2, epochs=3, batch_size=4, size=64, val_fraction=0.25))
    try:
        history = card["history"]
        assert all(h["worker_fit_seconds"] > 0 for h in history)
        assert history[0]["workers_reusing_model"] == 0  # a new run never inherits a model, even in a reused process
        assert sum(h["workers_reusing_model"] for h in history[1:]) >= 1, "later epochs reuse the compiled model"
    finally:
        storage.delete(f"{registry.models_root()}/{card['model_id']}", recursive=True)


def test_every_training_partition_holds_every_class(spark, storage, prepared):
    from engine.data.preprocess import read_prepared
    from engine.ml.elephas_driver import training_rdd

    x, y, _ = read_prepared(storage, prepared, 64)  # sorted by path, that is, grouped by class
    onehot = np.eye(4, dtype=np.float32)[y]
    partitions = training_rdd(spark, x, onehot, np.arange(len(y)), workers=2, seed=42).glom().collect()
    assert [len(p) for p in partitions] == [20, 20]
    for part in partitions:
        assert {int(np.argmax(label)) for _, label in part} == {0, 1, 2, 3}


def test_killed_training_resumes_and_registers_once(prepared, settings, storage):
    earlier = {r["run_id"] for r in list_runs(settings)}
    job = jobs.submit_job(settings, ["train", prepared, "--epochs", "12", "--batch-size", "4", "--size", "64"])
    deadline = time.monotonic() + 300
    run_id = None
    while time.monotonic() < deadline:
        runs = [r for r in list_runs(settings) if r["config"]["dataset"] == prepared and r["run_id"] not in earlier]
        if runs and runs[0]["state"].get("epoch", 0) >= 2:
            run_id = runs[0]["run_id"]
            break
        time.sleep(0.3)
    assert run_id, "training never reached epoch 2"
    record = jobs.get_job(settings, job.id)
    os.killpg(record.runner_pid, signal.SIGKILL)  # mid-epoch, without a word
    assert jobs.wait_for_job(settings, job.id, timeout_s=60).status == jobs.JobStatus.FAILED
    card = train(settings, storage, TrainConfig(dataset=prepared), resume=run_id)
    try:
        history = read_history(settings, run_id)
        assert [h["epoch"] for h in history][-1] == 12
        assert len({h["epoch"] for h in history}) == len(history), "no epoch is recorded twice"
        ids = [c["model_id"] for c in registry.list_models(settings, storage)]
        assert ids.count(run_id) == 1
        again = train(settings, storage, TrainConfig(dataset=prepared), resume=run_id)  # a finished run is not retrained
        assert again["created"] == card["created"]
    finally:
        storage.delete(f"{registry.models_root()}/{run_id}", recursive=True)
        shutil.rmtree(settings.jobs_dir / job.id, ignore_errors=True)  # keep the user's job list clean


def test_training_needs_a_preprocessed_dataset(settings, storage, prepared):
    with pytest.raises(InputError, match="not preprocessed"):
        train(settings, storage, TrainConfig(dataset=prepared, size=96, epochs=1))


def test_evaluate_json_and_leak_free(tiny_model, prepared):
    out = subprocess.run(
        [*ENGINE, "evaluate", "--model", tiny_model, "--data", str(SAMPLE), "--train-manifest", prepared, "--json"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["n"] == 40 and set(r["per_class"]) == {"glioma", "meningioma", "notumor", "pituitary"}
    assert sum(map(sum, r["confusion_matrix"])) == 40
    assert np.isclose(r["accuracy"], np.trace(r["confusion_matrix"]) / 40)
    assert r["leak_free"]["n"] == 0 and r["leak_free"]["excluded_duplicates_of_training"] == 40  # every image is in training
    # what a clinician would have been told: every scan answered, flagged or refused, counted per class
    for key in ("refused", "uncertain"):
        assert set(r[key]["per_class"]) == set(r["per_class"]) and sum(r[key]["per_class"].values()) == r[key]["total"]
    assert r["n_accepted"] == 40 - r["refused"]["total"] and 0 <= r["accuracy_accepted"] <= 1
    assert len(r["scans"]) == 40 and sum(s["refused"] for s in r["scans"]) == r["refused"]["total"]
    assert sum(b["count"] for b in r["reliability"]) == 40
    errors = sum(s["predicted"] != s["true"] and not s["refused"] for s in r["scans"])
    assert len([g for g in r["gallery"] if g["kind"] == "error"]) == min(8, errors), "the most confident errors, each with its Grad-CAM"


def test_validate_on_an_uploaded_zip_reads_it_and_removes_it(tiny_model, settings, tmp_path):
    import zipfile

    from engine.jobs.uploads import save_upload

    buf = tmp_path / "scans.zip"
    with zipfile.ZipFile(buf, "w") as z:
        for path in [p for cls in ("glioma", "meningioma", "notumor", "pituitary") for p in sample_files(cls, 3)]:
            z.write(path, f"{path.parent.name}/{path.name}")
    upload = save_upload(settings, buf.read_bytes(), ".zip")
    out = subprocess.run(
        [*ENGINE, "evaluate", "--model", tiny_model, "--data", str(upload), "--remove-source", "--json"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["n"] == 12 and not upload.exists(), "the upload is read, then deleted"


def test_benchmark_cv_fits_thresholds_inside_each_fold_and_reuses_finished_folds(prepared, tiny_model, settings, storage, tmp_path):
    # the recipe of tiny_model (3 epochs): `models cv` attaches only a cross-validation of the model's own recipe
    argv = [*ENGINE, "benchmark", "cv", prepared, "--folds", "2", "--epochs", "3", "--size", "64", "--json"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert [f["fold"] for f in r["folds"]] == [1, 2] and sum(f["n"] for f in r["folds"]) == 40  # every scan tested once
    for f in r["folds"]:
        assert {"n", "accuracy", "per_class", "ece", "refused", "uncertain"} <= set(f)
        assert set(f["refused"]) >= {"overall", "per_class"} and f["thresholds"]["refuse"] > f["thresholds"]["review"]
        # the darkness flag's line is fitted on the fold's own training scans, like every threshold
        assert 0 < f["thresholds"]["dark_below"] < 1 and 0 <= f["flagged_dark"] <= f["n"]
    assert r["accuracy"]["min"] <= r["accuracy"]["mean"] <= r["accuracy"]["max"]
    assert set(r["refused"]) >= {"mean", "max", "per_class_max"} and r["recipe"]["folds"] == 2 and r["recipe"]["epochs"] == 3
    # the sample's one head CT slice filed as "no tumour" (engine.data.not_brain_mri) is tested, and set apart
    assert sum(f["not_brain_mri_in_fold"]["n"] for f in r["folds"]) == r["not_brain_mri_in_dataset"]["n"] == 1
    assert sum(f["refused_brain_mri"]["n"] for f in r["folds"]) == 39 and set(r["refused_brain_mri"]) >= {"mean", "max", "per_class_max"}
    # every fold read again with test-time flip, its temperature and thresholds fitted inside the fold as well
    assert r["test_time_flip"]["folds"] == [1, 2] and r["test_time_flip"]["n"] == 40
    assert all(f["test_time_flip"]["n"] == f["n"] and "refused" in f["test_time_flip"] for f in r["folds"])
    again = subprocess.run(argv, capture_output=True, text=True, timeout=600)  # finished folds are kept: no retraining
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["folds"] == r["folds"]
    # one fold on its own, pooled with the other fold of an earlier run of the same recipe (folds spread over machines)
    earlier = tmp_path / "fold-1.json"
    earlier.write_text(json.dumps({**r, "folds": r["folds"][:1]}))
    pooled = subprocess.run([*argv, "--fold", "2", "--with-folds", str(earlier)], capture_output=True, text=True, timeout=600)
    assert pooled.returncode == 0, pooled.stderr
    assert json.loads(pooled.stdout)["folds"] == r["folds"] and json.loads(pooled.stdout)["complete"]
    earlier.write_text(json.dumps({**r, "recipe": {**r["recipe"], "epochs": 30}}))
    other = subprocess.run([*argv, "--fold", "2", "--with-folds", str(earlier)], capture_output=True, text=True, timeout=600)
    assert other.returncode == 2 and "another recipe (epochs differ)" in other.stderr and "Traceback" not in other.stderr
    # the card of a model trained by that recipe now states the cross-validated figures in its intended use
    attached = subprocess.run([*ENGINE, "models", "cv", tiny_model, "--json"], capture_output=True, text=True, timeout=300)
    assert attached.returncode == 0, attached.stderr
    card = registry.read_card(registry.fetch(settings, storage, tiny_model))
    assert card["cross_validation"]["folds_done"] == 2 and card["cross_validation"]["n"] == 40
    from engine.ml.intended_use import intended_use

    assert intended_use(card)["figures"].startswith("cross-validated (2-fold, 40 scans")


def test_benchmark_refusal_counts_non_mri_real_scans_shifts_and_unseen_kinds(tiny_model):
    out = subprocess.run([*ENGINE, "benchmark", "refusal", "--model", tiny_model, "--json"], capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["non_mri"] >= 300 and 0 <= r["non_mri_refused"] <= r["non_mri"] and sum(g["n"] for g in r["by_group"].values()) == r["non_mri"]
    assert 1 <= r["real_scans"] <= 40 and 0 <= r["real_falsely_refused"] <= r["real_scans"]
    assert len(r["shifts"]) == 34 and all(row["n"] == r["shift_scans"] for row in r["shifts"].values())
    # a wrong plain answer is one neither refused nor flagged: never more than the answers that are wrong
    for row in r["shifts"].values():
        answered = 1 - row["refused"]
        assert 0 <= row["wrong_plain_answers"] <= answered * (1 - (row["accuracy_answered"] or 0)) + 1e-9
    # each group judged by a check refitted without it (the dataset's CT slices leave with the CT group)
    assert {"other modalities: CT", "photographs, grey"} <= set(r["by_group_left_out"])
    # each image of another modality judged by a check refitted without that one source
    assert set(r["by_group_source_left_out"]) == {
        "other modalities: CT",
        "other modalities: nuclear medicine",
        "other modalities: ultrasound",
        "other modalities: X-ray",
        "MRI of other body parts",
    }
    assert sum(s["n"] for s in r["by_source_left_out"].values()) == sum(g["n"] for g in r["by_group_source_left_out"].values())
    assert {"ct-head", "xray-chest"} <= set(r["by_source_left_out"])
    for row in [*r["by_group"].values(), *r["by_group_left_out"].values(), *r["by_source_left_out"].values()]:
        assert 0 <= row["refused_as_ct"] + row["refused_two_doubts"] <= row["refused"] and 0 <= row["flagged_ct_bone"] <= row["flagged"]
    assert "not brain MRI" in r["real_from"]
    other = r["other_source_brain_mri"]  # real brain MRI of other scanners: every slice refused or answered, once
    n = len(list((REPO_ROOT / "assets" / "reference" / "other-source-brain-mri").glob("*.png")))
    assert n >= 32 and other["n"] == n and other["refused"] + sum(other["answers"].values()) == n and len(other["per_file"]) == n
    assert all(other["plain_answers"][c] <= other["answers"][c] for c in other["answers"])
    unseen = r["unseen_negatives"]  # real images of other modalities the check never learnt from: each counted once
    assert unseen["n"] >= 5 and len(unseen["per_file"]) == unseen["n"]
    assert unseen["refused"] + unseen["flagged"] + unseen["plain_answers"] == unseen["n"] == sum(g["n"] for g in unseen["by_group"].values())
    # the head CT at a wide window, the hole the CT-bone test closes whatever the model: never a plain answer
    wide = {k: v for k, v in unseen["per_file"].items() if k.startswith("ct__ct-head-invesalius-z") and "window" not in k}
    assert len(wide) == 4 and all(v == "refused" or v.endswith("(flagged)") for v in wide.values()), wide


def test_benchmark_classify_times_plain_and_dark_scans(tiny_model, settings, storage):
    from engine.bench.classify import benchmark_speed

    r = benchmark_speed(settings, storage, tiny_model, repeats=10)
    assert r["model"] == tiny_model and r["repeats"] == 10
    assert 0 < r["single_ms_p50"] <= r["single_ms_p95"] and 0 < r["dark_single_ms_p50"] <= r["dark_single_ms_p95"]
    assert 0 <= r["dark_read_twice_share"] <= 1 and r["batch_100_s"] > 0 and r["cold_start_s"] > 0


def test_test_time_flip_answers_a_scan_and_its_mirror_image_alike(tiny_model, settings, storage, tmp_path):
    from PIL import Image, ImageOps

    scan = sample_files("meningioma", 1)[0]
    mirror = tmp_path / "mirror.png"
    ImageOps.mirror(Image.open(scan)).save(mirror)

    def probabilities() -> list[np.ndarray]:
        out = subprocess.run([*ENGINE, "classify", str(scan), str(mirror), "--model", tiny_model, "--json"], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        return [np.array(list(r["probabilities"].values())) for r in json.loads(out.stdout)["results"]]

    plain = probabilities()
    switched = subprocess.run([*ENGINE, "models", "flip", tiny_model, "--json"], capture_output=True, text=True, timeout=300)
    try:
        assert switched.returncode == 0, switched.stderr
        r = json.loads(switched.stdout)
        card = registry.read_card(registry.fetch(settings, storage, tiny_model))
        assert card["input"]["test_time_flip"] is True and card["temperature"] == r["temperature"]
        assert card["validation"]["accuracy"] == r["validation_accuracy"] and r["validation_n"] == card["validation"]["n"]
        flipped = probabilities()
        # read both ways and averaged, a scan and its mirror image are the same question with the same answer
        assert np.abs(flipped[0] - flipped[1]).max() < 1e-4 < np.abs(plain[0] - plain[1]).max()
    finally:
        subprocess.run([*ENGINE, "models", "noflip", tiny_model], capture_output=True, timeout=300)
    assert registry.read_card(registry.fetch(settings, storage, tiny_model))["input"]["test_time_flip"] is False


def test_incompatible_model_file_is_refused(tmp_path, settings, storage):
    folder = tmp_path / "fake"
    folder.mkdir()
    (folder / "model.keras").write_bytes(b"not a keras file")
    card = {"model_id": "fake", "classes": [], "input": {"size": 64}}
    (folder / "card.json").write_text(json.dumps(card))
    out = subprocess.run([*ENGINE, "evaluate", "--model", str(folder), "--data", str(SAMPLE)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "no SHA-256" in out.stderr and "Traceback" not in out.stderr  # unsealed: not even opened
    card["model_sha256"] = registry.file_sha256(folder / "model.keras")  # sealed, but not a Keras file
    (folder / "card.json").write_text(json.dumps(card))
    out = subprocess.run([*ENGINE, "evaluate", "--model", str(folder), "--data", str(SAMPLE)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "cannot be loaded" in out.stderr and "Traceback" not in out.stderr


def test_classify_json_contract_and_audit(tiny_model, settings, tmp_path):
    scans = [str(p) for p in sample_files("glioma", 2) + sample_files("pituitary", 1)]
    before = len(classification_log.read(settings))
    out = subprocess.run(
        [*ENGINE, "classify", *scans, "--model", tiny_model, "--explain", str(tmp_path), "--json"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert len(r["results"]) == 3 and r["model"]["id"] == tiny_model
    for item in r["results"]:
        assert set(item) >= {"file", "label", "probabilities", "uncertain", "rejected", "reason", "sha256"}
        if not item["rejected"]:
            assert abs(sum(item["probabilities"].values()) - 1) < 1e-6
    answered = [i for i in r["results"] if not i["rejected"]]
    assert len(list(tmp_path.glob("*-report.pdf"))) == len(answered), "one report per answered scan, none for a refusal"
    log = classification_log.read(settings)[before:]
    assert len(log) == 3 and {e["sha256"] for e in log} == {i["sha256"] for i in r["results"]}
    assert not any(s.split("/")[-1] in json.dumps(log) for s in scans), "no file names in the audit log"


def test_classify_refuses_every_bad_file_and_still_answers_the_rest(tiny_model, tmp_path):
    bad = bad_inputs(tmp_path)
    good = sample_files("meningioma", 1)[0]
    out = subprocess.run(
        [*ENGINE, "classify", str(good), *map(str, bad.values()), "--model", tiny_model, "--json"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    results = {item["file"].rsplit("/", 1)[-1]: item for item in json.loads(out.stdout)["results"]}
    assert not results[good.name]["rejected"] or "does not look like" in results[good.name]["reason"]
    expected = {
        "zero.jpg": "empty",
        "truncated.jpg": "truncated",
        "page.jpg": "not an image",
        "text.jpg": "not an image",
        "doc.jpg": "not an image",
        "bomb.png": "decompression bomb",
        "huge.jpg": "limit",
        "nopixels.dcm": "no pixel data",
        "series.dcm": "multi-frame",
        "cut.dcm": "DICOM",
    }
    for name, words in expected.items():
        assert results[name]["rejected"], name
        assert words in results[name]["reason"], (name, results[name]["reason"])


def test_awkward_encodings_and_dicom_are_read(tiny_model, settings, storage, tmp_path):
    from pydicom.data import get_testdata_file

    from engine.clinic.classify import Classifier
    from engine.ml.inference import load_model

    clf = Classifier(load_model(settings, storage, tiny_model))
    items = [(p.name, p.read_bytes()) for p in odd_but_valid(tmp_path).values()]
    items.append(("MR_small.dcm", open(get_testdata_file("MR_small.dcm"), "rb").read()))
    answers = clf.classify(items)
    for a in answers:
        assert not a.bad_input, (a.file, a.reason)
    dicom = answers[-1]
    assert dicom.technical["Modality"] == "MR"
    assert not any("Patient" in k for k in dicom.technical)
