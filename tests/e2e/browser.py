"""Browser helpers shared by the e2e tests and the screenshot script: a real `streamlit run` on a port, Debian's
Chromium, waiting for the page. Importing this module changes nothing (tests.conftest points settings at a test
root; the screenshot script must not)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests

from engine.settings import REPO_ROOT
from tests.images import sample_files


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_dashboard(port: int, log: Path) -> subprocess.Popen:
    """`streamlit run` as ./run.sh does it, in its own process group (so a Ctrl-C to it spares pytest)."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "dashboard/app.py",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
            ],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if requests.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                return
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"streamlit did not start; its log:\n{Path(log).read_text()[-2000:]}")
        time.sleep(0.2)  # probe interval


def stop_dashboard(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def settle(page) -> None:
    """Wait until the page has drawn and Streamlit has finished running its script."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    page.wait_for_selector("h1", timeout=60_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(800)  # let plotly finish its first draw before a screenshot


def main_text(page) -> str:
    return page.inner_text('[data-testid="stMain"]')


def wait_for_text(page, text: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        body = main_text(page)
        if text in body:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} did not appear within {timeout_s:.0f} s; the page says:\n{body[-1500:]}")
        page.wait_for_timeout(500)


def validate_sample_zip(page, url: str, folder: Path, per_class: int, timeout_s: float) -> str:
    """On the Validate page, upload a zip of class folders (``per_class`` sample scans each), validate it as a job,
    and wait for its report; the page's text."""
    scans = folder / "hospital-scans.zip"
    with zipfile.ZipFile(scans, "w") as z:
        for cls in ("glioma", "meningioma", "notumor", "pituitary"):
            for path in sample_files(cls, per_class):
                z.write(path, f"{cls}/{path.name}")
    page.goto(f"{url}/validate")
    settle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(scans))
    page.get_by_role("button", name="Validate on the zip").click()
    return wait_for_text(page, "Report (PDF)", timeout_s)
