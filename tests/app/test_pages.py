"""Every page renders under Streamlit's AppTest without an exception or an error box."""

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from engine.jobs import store as jobs
from engine.settings import REPO_ROOT
from tests.conftest import sample_dataset

APP = str(REPO_ROOT / "dashboard" / "app.py")
PAGES = ["overview", "hdfs", "dataset", "preprocess", "train", "speedup", "classify", "models", "validate"]


@pytest.fixture
def app(hdfs_cluster):
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    return at


@pytest.mark.parametrize("page", PAGES)
def test_page_renders(app, page):
    app.switch_page(f"views/{page}.py")
    app.run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert app.title, "every page has a title"


def test_sidebar_shows_cluster_health(app):
    text = " ".join(m.value for m in app.sidebar.markdown)
    assert "DataNodes" in text and "healthy" in text


def test_sidebar_lists_a_running_job(hdfs_cluster):
    job = jobs.submit_job(hdfs_cluster, ["sleep", "30"], title="app-test sleeper")
    try:
        at = AppTest.from_file(APP, default_timeout=90)
        at.run()
        text = " ".join(m.value for m in at.sidebar.markdown)
        assert "app-test sleeper" in text
    finally:
        jobs.cancel_job(hdfs_cluster, job.id)
        shutil.rmtree(hdfs_cluster.jobs_dir / job.id, ignore_errors=True)  # keep the user's job list clean


def test_hdfs_page_shows_blocks_of_a_selected_file(hdfs_cluster, storage, hdfs_root):
    import os

    storage.write(f"{hdfs_root}/two-blocks.bin", os.urandom(hdfs_cluster.block_size + 10))
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["hdfs.folder"] = hdfs_root
    at.session_state["hdfs.selected_path"] = f"{hdfs_root}/two-blocks.bin"
    at.switch_page("views/hdfs.py")
    at.run()
    assert not at.exception
    assert any("Blocks of" in h.value for h in at.subheader)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Blocks"] == "2" and metrics["Replication"] == "2"


def test_hdfs_page_explains_a_missing_folder(hdfs_cluster):
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["hdfs.folder"] = "/no/such/folder"
    at.switch_page("views/hdfs.py")
    at.run()
    assert not at.exception
    assert any("does not exist" in e.value for e in at.error)


def test_dataset_page_ingests_a_folder_as_a_job(hdfs_cluster, storage):
    from engine.data import datasets

    name = "t-apptest-ingest"
    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page("views/dataset.py")
    at.run()
    next(t for t in at.text_input if t.label == "Dataset name").set_value(name)
    next(b for b in at.button if b.label == "Ingest the folder").click()
    at.run()
    try:
        job = jobs.latest_job(hdfs_cluster, "dataset-ingest")
        assert job is not None and job.argv[-1] == name
        done = jobs.wait_for_job(hdfs_cluster, job.id, timeout_s=180)
        assert done.status == jobs.JobStatus.SUCCEEDED, done.error
        assert done.result["stored"] + done.result["duplicates_skipped"] == 40
        at.run()
        assert not at.exception
        assert any(name in s.value for s in at.success)
    finally:
        storage.delete(datasets.dataset_dir(name), recursive=True)


def test_speedup_page_teaches_on_first_open(app):
    """No measurement of the user's yet: the shipped reference results show, marked as such, with their charts."""
    app.switch_page("views/speedup.py")
    app.run()
    assert not app.exception, app.exception
    assert any("reference" in i.value for i in app.info), [i.value for i in app.info]
    assert any("Reference · kaggle-train" in o for s in app.selectbox for o in s.options)
    assert len(app.get("plotly_chart")) >= 5  # time, speed-up, efficiency, breakdown, training comparison
    assert any("reference measured by the project" in c.value.lower() for c in app.caption)


def test_models_page_shows_what_transfer_buys(app):
    app.switch_page("views/models.py")
    app.run()
    assert not app.exception, app.exception
    assert any(h.value == "What transfer buys" for h in app.subheader)
    assert any("labelled scans per class" in m.value for m in app.markdown)


def test_models_page_shows_what_the_gate_refuses(app):
    """The shipped refusal measurement shows on first open: by group (with the group left out of the check) and
    under each shift, with a button that starts the measurement as a job."""
    app.switch_page("views/models.py")
    app.run()
    assert not app.exception, app.exception
    assert any(h.value == "What the gate refuses" for h in app.subheader)
    assert any(m.label == "Not brain MRI, refused" for m in app.metric)
    assert any(m.label == "Weakest kind the check never saw" for m in app.metric)
    # the images no fit ever saw, and brain MRI of other scanners, said in words
    assert any("the check never learnt from" in c.value and "other scanners" in c.value for c in app.caption)
    assert any(b.label == "Start the measurement" for b in app.button)


def test_models_page_sets_the_datasets_head_ct_slices_apart_from_real_scans(app):
    """The shipped cross-validation counts false refusals of real brain MRI, and the head CT slices the public
    dataset files as "no tumour" apart from them (a right refusal, not a false one)."""
    app.switch_page("views/models.py")
    app.run()
    assert not app.exception, app.exception
    metric = next(m for m in app.metric if m.label == "Real brain MRI refused")
    assert "head CT slices" in metric.help and "rightly" in metric.help
    assert any("not brain MRI in the fold, refused" in df.value.columns for df in app.dataframe)


def test_models_and_overview_headline_the_cross_validated_accuracy(app):
    """The shipped card's cross-validated accuracy leads; the validation split's (which chose the model) is named so."""
    app.run()
    default = next(m for m in app.metric if m.label == "Default model")
    assert default.value == "98.3%" and "cross-validated" in default.help and "upper bound" in default.help
    app.switch_page("views/models.py")
    app.run()
    assert not app.exception, app.exception
    table = app.dataframe[0].value
    shipped = table[table["source"] == "shipped"].iloc[0]
    assert shipped["accuracy (cross-validated)"] == 0.9832 and "validation split accuracy" in table.columns
    assert any("Cross-validated accuracy 98.32%" in c.value and "the split that chose it" in c.value for c in app.caption)


def test_train_page_offers_mobilenetv2_with_its_measured_recipe(hdfs_cluster, storage):
    with sample_dataset(storage, "t-apptest-train"):
        app = AppTest.from_file(APP, default_timeout=90)
        app.run()
        app.switch_page("views/train.py")
        app.run()
        next(s for s in app.selectbox if s.label == "Architecture").select("mobilenetv2").run()
    assert not app.exception and not app.error
    numbers = {n.label: n.value for n in app.number_input}
    assert numbers["Epochs"] == 15 and numbers["Peak learning rate"] == 5e-4 and numbers["Head-only epochs"] == 0
    assert any(t.label == "Weights" and t.value == "imagenet" for t in app.text_input)
