"""The pipeline driven as a user drives it, in a real browser: ingest the sample, open a file's blocks, start and
watch a preprocessing job (through a dashboard restart), run Demo mode, and five sessions classifying at once."""

import json
import signal
import time

import pytest

from engine.bench import demo
from engine.bench.preprocess import list_benchmarks
from engine.clinic import classification_log
from engine.data import datasets
from engine.data.ingest import ingest_dataset
from engine.jobs import store as jobs
from engine.ml import registry
from tests.conftest import free_port
from tests.e2e.conftest import choose_in_first_selectbox, launch_browser, launch_dashboard, main_text, settle, stop_dashboard, wait_for_text, wait_healthy
from tests.images import SAMPLE, sample_files


def commit_text(page, label: str, value: str) -> None:
    # Hold the element itself: a widget whose key changes on commit (the HDFS folder) is briefly drawn twice.
    box = page.get_by_label(label, exact=True).element_handle()
    box.fill(value)
    box.press("Enter")  # Streamlit takes a text input's value on Enter
    page.wait_for_function("([el, v]) => el.value === v", arg=[box, value])
    page.wait_for_timeout(1000)  # the rerun that Enter starts can begin late on a loaded machine
    settle(page)


def test_ingest_the_sample_from_the_dataset_page(page, dashboard_url, settings, storage, artifacts):
    name = "t-e2e-ingest"
    previous = jobs.latest_job(settings, "dataset-ingest")
    page.goto(f"{dashboard_url}/dataset")
    settle(page)
    if not page.get_by_label("Dataset name", exact=True).is_visible():
        page.get_by_text("Add data to HDFS").click()  # the expander is closed once some dataset exists
    try:
        commit_text(page, "Dataset name", name)
        page.get_by_role("tab", name="A folder on this machine").click()
        page.get_by_role("button", name="Ingest the folder").click()
        deadline = time.monotonic() + 30
        while (job := jobs.latest_job(settings, "dataset-ingest")) is None or (previous and job.id == previous.id):
            assert time.monotonic() < deadline, "the page started no ingest job"
            page.wait_for_timeout(200)
        assert job.argv[-1] == name
        assert jobs.wait_for_job(settings, job.id, timeout_s=120).status == jobs.JobStatus.SUCCEEDED
        page.reload()  # the outcome is read from the job on disk, so it survives a refresh
        settle(page)
        if not page.get_by_label("Dataset name", exact=True).is_visible():
            page.get_by_text("Add data to HDFS").click()
        wait_for_text(page, f"Stored 40 new image(s) in {name}", 30)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(artifacts / "dataset-ingest.png"), full_page=True)
        assert len(datasets.read_manifest(storage, name)) == 40
    finally:
        storage.delete(datasets.dataset_dir(name), recursive=True)


def test_open_a_files_blocks_on_the_hdfs_page(page, dashboard_url, storage, hdfs_root, artifacts):
    storage.write(f"{hdfs_root}/three-blocks.bin", bytes(range(256)) * 10_000)  # 2.4 MiB: 3 blocks of 1 MiB
    page.goto(f"{dashboard_url}/hdfs")
    settle(page)
    commit_text(page, "Folder", hdfs_root)
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for(timeout=30_000)
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row's selection box (header 35 px, rows 35 px)
    wait_for_text(page, "Blocks of three-blocks.bin", 60)
    settle(page)
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 1  # the block map
    metrics = {m.split("\n")[0]: m.split("\n")[-1] for m in page.locator('[data-testid="stMetric"]').all_inner_texts()}
    assert metrics["Blocks"] == "3" and metrics["Replication"] == "2"
    page.screenshot(path=str(artifacts / "hdfs-blocks.png"), full_page=True)


def test_preprocessing_job_survives_a_dashboard_restart(browser, hdfs_cluster, storage, tmp_path, artifacts):
    settings, name = hdfs_cluster, "t-e2e-prep"
    ingest_dataset(storage, SAMPLE, name)
    port, log = free_port(), tmp_path / "streamlit.log"
    url = f"http://127.0.0.1:{port}"
    proc = launch_dashboard(port, log)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        wait_healthy(url, proc, log)
        page.goto(f"{url}/preprocess")
        settle(page)
        choose_in_first_selectbox(page, name)
        page.get_by_role("button", name="Run preprocessing").click()
        wait_for_text(page, f"Preprocess {name} at 128 px", 30)  # the live progress bar of the job
        job = jobs.latest_job(settings, "preprocess", name)
        assert job is not None and not job.status.finished
        stop_dashboard(proc, signal.SIGINT)  # Ctrl-C, as a user stops `./run.sh`
        assert not jobs.get_job(settings, job.id).status.finished  # the job did not die with the dashboard
        proc = launch_dashboard(port, log)
        wait_healthy(url, proc, log)
        page.goto(f"{url}/preprocess")
        settle(page)
        wait_for_text(page, f"Preprocess {name} at 128 px finished", 180)
        page.screenshot(path=str(artifacts / "preprocess-after-restart.png"), full_page=True)
        done = jobs.get_job(settings, job.id)
        assert done.status == jobs.JobStatus.SUCCEEDED and done.result["images"] == 40
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        context.close()
        stop_dashboard(proc)
        storage.delete(datasets.dataset_dir(name), recursive=True)


def user_state(settings, storage) -> dict:
    """What belongs to the user: datasets, models, default model and saved benchmarks (the demo's own excluded)."""
    mine = [d for d in datasets.list_datasets(storage) if d["name"] != demo.DEMO_DATASET]
    return {
        "datasets": sorted((d["name"], d["images"]) for d in mine),
        "models": sorted(c["model_id"] for c in registry.list_models(settings, storage) if f"-{demo.DEMO_DATASET}-" not in c["model_id"]),
        "default": registry.default_model_id(settings),
        "benchmarks": sorted(b.get("run_id", "") for b in list_benchmarks(settings, storage)),
    }


def test_demo_mode_runs_the_pipeline_and_leaves_user_data_alone(browser, dashboard_url, settings, storage, artifacts):
    if registry.default_model_id(settings) is None:
        pytest.skip("no model in assets/models or the registry")
    before = user_state(settings, storage)
    context = browser.new_context(viewport={"width": 1400, "height": 4400})
    page = context.new_page()
    try:
        page.goto(dashboard_url)
        settle(page)
        t0 = time.monotonic()
        page.get_by_role("button", name="Run the demo").click()
        wait_for_text(page, "step 1/6", 30)
        wait_for_text(page, "Last demo:", 300)
        wall = time.monotonic() - t0
        # Streamlit draws the finished page top-down: the caption comes before the last steps' pictures.
        wait_for_text(page, "Grad-CAM heat map", 60)
        settle(page)
        body = main_text(page)
        state = demo.read_state(settings)
        assert [s["status"] for s in state["steps"]] == ["done"] * len(demo.STEPS), state.get("error")
        for step in demo.STEPS:
            assert step.title in body
        assert "Grad-CAM heat map" in body and page.locator('[data-testid="stException"]').count() == 0
        settle(page)
        page.screenshot(path=str(artifacts / "demo.png"), full_page=True)
        # The duration is recorded (not asserted: timings on a shared 2-core machine are noisy).
        (artifacts / "demo-duration.json").write_text(
            json.dumps(
                {"engine_seconds": state["seconds"], "browser_seconds": round(wall, 1), "steps": {s["key"]: s["seconds"] for s in state["steps"]}}, indent=1
            )
        )
    finally:
        context.close()
    assert user_state(settings, storage) == before


def test_five_sessions_classify_at_once_and_each_answer_is_logged_once(playwright_driver, dashboard_url, settings, artifacts):
    if registry.default_model_id(settings) is None:
        pytest.skip("no model in assets/models or the registry")
    scans = [sample_files(c, 2)[i] for c in ("glioma", "meningioma", "notumor") for i in range(2)][:5]
    shas = sorted(__import__("hashlib").sha256(p.read_bytes()).hexdigest() for p in scans)
    before = len(classification_log.read(settings))
    browsers = [launch_browser(playwright_driver) for _ in scans]  # five users, five browsers
    pages = [b.new_page(viewport={"width": 1400, "height": 1000}) for b in browsers]
    try:
        for pg in pages:  # open one after another; the uploads below are what run at once
            pg.goto(f"{dashboard_url}/classify", timeout=90_000)
            settle(pg)
        for pg, scan in zip(pages, scans):  # five uploads in flight together
            pg.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(scan))
        for i, pg in enumerate(pages):
            try:
                pg.wait_for_selector('[data-testid="stAlertContainer"]', timeout=120_000)
            finally:
                pg.screenshot(path=str(artifacts / f"classify-session-{i}.png"))
            settle(pg)
            assert pg.locator('[data-testid="stException"]').count() == 0
            assert pg.locator('[data-testid="stAlertContentError"]').count() == 0
        pages[0].get_by_text("Heat map", exact=False).first.click()  # a rerun of one page must not log again
        settle(pages[0])
        pages[0].screenshot(path=str(artifacts / "classify-concurrent.png"), full_page=True)
        new = classification_log.read(settings)[before:]
        assert sorted(e["sha256"] for e in new) == shas  # every answer logged, each exactly once
        assert all(e["source"] == "dashboard" and e["label"] for e in new)
    finally:
        for b in browsers:
            b.close()
