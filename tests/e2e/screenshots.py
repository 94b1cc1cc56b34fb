"""Retake the README's screenshots of the clinic pages from a real `streamlit run` in Debian's Chromium.

Run by hand, with HDFS up (`python -m engine cluster up`): `python -m tests.e2e.screenshots [NAME ...]`. Each shot
is what a user sees on a fresh install: the shipped model, the shipped reference measurements, and scans of
`assets/sample/` (and one image that is not a brain MRI) uploaded through the page. Writes `assets/screenshots/`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PIL import Image

from engine.settings import REPO_ROOT
from tests.e2e.browser import (
    CHROMIUM_FLAGS,
    chromium_path,
    free_port,
    launch_dashboard,
    settle,
    stop_dashboard,
    validate_sample_zip,
    wait_for_text,
    wait_healthy,
)
from tests.images import sample_files

OUT = REPO_ROOT / "assets" / "screenshots"
NOT_MRI = REPO_ROOT / "assets" / "reference" / "unseen-negatives" / "xray__xray-shoulder.png"


def _scroll_to(page, heading: str) -> None:
    """Put a section's heading at the top of the window, plotly drawn."""
    page.get_by_role("heading", name=heading).evaluate("h => h.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(2500)  # plotly draws charts as they scroll into view


def overview(page, url: str, work: Path) -> None:
    """The landing page: the cluster, the datasets, the default model's cross-validated accuracy, the next step."""
    page.goto(url)
    settle(page)
    page.screenshot(path=str(OUT / "overview.png"))


def classify(page, url: str, work: Path) -> None:
    """Three uploads: a meningioma answered, a no-tumour scan flagged for review, an X-ray refused."""
    files = [sample_files("meningioma", 1)[0], sample_files("notumor", 1)[0], work / "shoulder-xray.png"]
    Image.open(NOT_MRI).convert("L").save(files[2])
    page.goto(f"{url}/classify")
    settle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([str(f) for f in files])
    wait_for_text(page, "PDF report", 180)
    settle(page)
    page.screenshot(path=str(OUT / "classify.png"))


def models(page, url: str, work: Path) -> None:
    """The top of the Models page (cards and intended use), cross-validation, and the gate's figures."""
    page.goto(f"{url}/models")
    settle(page)
    page.wait_for_timeout(2500)
    page.screenshot(path=str(OUT / "models.png"))
    _scroll_to(page, "What a new hospital can expect")
    page.screenshot(path=str(OUT / "models-cv.png"))
    page.set_viewport_size({"width": 1400, "height": 1700})
    _scroll_to(page, "What the gate refuses")
    page.screenshot(path=str(OUT / "models-refusal.png"))


def validate(page, url: str, work: Path) -> None:
    """A zip of class folders (six sample scans of each class) validated as a job; the report."""
    page.set_viewport_size({"width": 1400, "height": 1700})
    validate_sample_zip(page, url, work, 6, 300)
    page.locator(".js-plotly-plot").nth(1).wait_for(state="attached", timeout=60_000)
    settle(page)
    page.wait_for_timeout(2500)
    page.screenshot(path=str(OUT / "validate.png"))


SHOTS = {"overview": overview, "classify": classify, "models": models, "validate": validate}


def main(names: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    if chromium_path() is None:
        sys.exit("Debian's chromium is not installed (apt-get install chromium).")
    unknown = set(names) - set(SHOTS)
    if unknown:
        sys.exit(f"unknown screenshots {sorted(unknown)}; choose from {sorted(SHOTS)}")
    with tempfile.TemporaryDirectory() as tmp:
        work, port = Path(tmp), free_port()
        proc = launch_dashboard(port, work / "streamlit.log")
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc, work / "streamlit.log")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS)
                for name in names or list(SHOTS):
                    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                    SHOTS[name](page, url, work)
                    page.context.close()
                    print(f"{name}: written")
                browser.close()
        finally:
            stop_dashboard(proc)


if __name__ == "__main__":
    main(sys.argv[1:])
