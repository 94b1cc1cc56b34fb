"""Pages stay true while work runs, in a real browser: each test fails on the behaviour reported in issue 17."""

from __future__ import annotations

import csv
import io
import time

from engine.data import datasets, stats
from engine.data.ingest import ingest_dataset
from engine.data.preprocess import preprocess_dataset
from engine.jobs import store as jobs
from engine.ml import runs
from tests.e2e.conftest import choose_in_first_selectbox, main_text, settle, wait_for_text
from tests.e2e.test_pipeline_in_browser import commit_text
from tests.images import SAMPLE, sample_files


def _grid_click(page, row: int, x_offset: float) -> None:
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for(timeout=30_000)
    box = grid.bounding_box()
    page.mouse.click(box["x"] + x_offset, box["y"] + 35 + 35 * row + 17)  # header 35 px, rows 35 px


def _folder(page) -> list[str]:
    """The Folder box's value (a rerun may briefly show the old box beside the new one)."""
    return page.eval_on_selector_all('input[aria-label="Folder"]', "boxes => boxes.map(b => b.value)")  # one atomic read


def _wait_for_folder(page, folder: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while _folder(page) != [folder]:
        assert time.monotonic() < deadline, f"the browser did not open {folder}: {_folder(page)}"
        page.wait_for_timeout(300)
    settle(page)


def test_hdfs_folders_open_by_name_and_a_selection_never_follows_into_the_next(page, dashboard_url, storage, hdfs_root):
    for i in range(4):
        storage.write(f"{hdfs_root}/a/file-{i}.bin", b"x" * 10)
    storage.makedirs(f"{hdfs_root}/b")
    page.goto(f"{dashboard_url}/hdfs")
    settle(page)
    commit_text(page, "Folder", hdfs_root)
    _grid_click(page, 0, 300)  # the name cell of folder "a", not its selection box
    _wait_for_folder(page, f"{hdfs_root}/a")
    _grid_click(page, 3, 18)  # select the 4th file in a ...
    wait_for_text(page, "Blocks of file-3.bin", 30)
    page.get_by_role("button", name="Up").click()  # ... then go up: row 4 must not be "selected" in the parent
    settle(page)
    _wait_for_folder(page, hdfs_root)
    page.wait_for_timeout(1500)  # long enough for a stale selection to open a folder on its own
    assert _folder(page) == [hdfs_root]
    assert "Sorry, something went wrong" not in main_text(page)
    _grid_click(page, 1, 300)  # folder "b"
    wait_for_text(page, "is empty", 30)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_statistics_appear_when_their_job_finishes_without_a_reload(page, dashboard_url, storage):
    name = "t-e2e-stats"
    ingest_dataset(storage, SAMPLE, name)
    try:
        assert stats.load_stats(storage, name) is None
        page.goto(f"{dashboard_url}/dataset?dataset={name}")  # a link to a dataset made elsewhere opens it
        settle(page)
        wait_for_text(page, "Not computed yet", 60)
        page.get_by_role("button", name="Compute with Spark").click()
        text = wait_for_text(page, "Computed by Spark", 180)  # the same page, no reload
        assert "Not computed yet" not in text and "notumor" not in text
    finally:
        storage.delete(datasets.dataset_dir(name), recursive=True)


def test_enter_starts_nothing_and_the_train_page_follows_the_new_run(page, dashboard_url, settings, storage):
    name = "t-e2e-train"
    ingest_dataset(storage, SAMPLE, name)
    try:
        preprocess_dataset(settings, storage, name, size=128, workers=2)
        before = jobs.latest_job(settings, "train")
        page.goto(f"{dashboard_url}/train")
        settle(page)
        choose_in_first_selectbox(page, name)
        settle(page)
        epochs = page.get_by_label("Epochs", exact=True)
        epochs.fill("1")
        epochs.press("Enter")
        page.wait_for_timeout(3000)
        after = jobs.latest_job(settings, "train")
        assert (after.id if after else None) == (before.id if before else None), "Enter alone started a training run"
        page.get_by_role("button", name="Start training").click()
        deadline = time.monotonic() + 60
        while (job := jobs.latest_job(settings, "train")) is None or (before and job.id == before.id):
            assert time.monotonic() < deadline, "the button started no training job"
            page.wait_for_timeout(300)
        run = _wait_for_run(settings, name)
        text = wait_for_text(page, run, 120)  # the Learning curves selector follows the new run by itself
        wait_for_text(page, "Validation accuracy", 240)
        assert "No finished epoch yet" not in main_text(page) or run in text
        jobs.wait_for_job(settings, job.id, timeout_s=300)
    finally:
        storage.delete(datasets.dataset_dir(name), recursive=True)


def _wait_for_run(settings, dataset: str, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for run in runs.list_runs(settings):
            if run["config"].get("dataset") == dataset:
                return run["run_id"]
        time.sleep(0.5)
    raise AssertionError(f"no training run of {dataset} appeared")


def test_the_batch_csv_has_model_time_probabilities_and_full_hashes(page, dashboard_url, tmp_path):
    files = sample_files("glioma", 1) + sample_files("notumor", 1)
    page.goto(f"{dashboard_url}/classify")
    page.wait_for_selector("h1", timeout=60_000)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([str(f) for f in files])
    button = page.get_by_role("button", name="Download CSV")
    button.wait_for(timeout=120_000)
    with page.expect_download() as download:
        button.click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert len(rows) == 2
    assert set(rows[0]) >= {
        "#",
        "file",
        "class",
        "confidence",
        "flag",
        "reason",
        "p_glioma",
        "p_meningioma",
        "p_notumor",
        "p_pituitary",
        "model",
        "time",
        "sha256",
    }
    for row in rows:
        assert len(row["sha256"]) == 64 and row["model"] and row["time"]
        if row["confidence"]:
            assert len(row["confidence"].split(".")[-1]) <= 4, "rounded, not 16 decimals"
