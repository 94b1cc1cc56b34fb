"""Hostile files against `classify`: each alone is refused in one sentence, fast and within a memory bound;
in a batch, the rest are still answered. The corpus is written by the tests (tests/hostile.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from engine.clinic import classification_log
from tests.hostile import classify_corpus
from tests.images import sample_files

ENGINE = [sys.executable, "-m", "engine"]
PEAK_MEMORY_LIMIT_MB = 1536
SECONDS_LIMIT = 10


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return classify_corpus(tmp_path_factory.mktemp("hostile"))


# Started from a small interpreter, so the child's peak RSS is its own, not pytest's (a fork inherits the
# parent's pages, and the kernel's high-water mark remembers them across exec).
MEASURE = (
    "import os, subprocess, sys; p = subprocess.Popen(sys.argv[2:]); _, status, usage = os.wait4(p.pid, 0); "
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss)); sys.exit(os.waitstatus_to_exitcode(status))"
)


def run_measured(args: list[str], tmp_path) -> tuple[int, float, float, str, str]:
    """(exit code, seconds, peak RSS in MB, stdout, stderr) of one engine command."""
    peak_file = tmp_path / "peak-kb"
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", MEASURE, str(peak_file), *ENGINE, *args], capture_output=True, text=True, timeout=120)
    seconds = time.monotonic() - t0
    return out.returncode, seconds, int(peak_file.read_text()) / 1024, out.stdout, out.stderr


def test_each_hostile_file_alone_is_refused_in_one_sentence_fast_and_bounded(corpus, settings, artifacts_table, tmp_path):
    before = len(classification_log.read(settings))
    for name, path in corpus.items():
        code, seconds, peak_mb, out, err = run_measured(["classify", str(path), "--json"], tmp_path)
        result = json.loads(out)["results"][0]
        artifacts_table.append(
            {
                "input": name,
                "bytes": path.stat().st_size,
                "answer": result["reason"],
                "exit_code": code,
                "peak_mb": round(peak_mb),
                "seconds": round(seconds, 2),
            }
        )
        assert code == 2, (name, err)
        assert result["rejected"] and result["label"] is None, name
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in err, (name, err)
        assert peak_mb < PEAK_MEMORY_LIMIT_MB, (name, peak_mb)
        assert seconds < SECONDS_LIMIT, (name, seconds)
    logged = classification_log.read(settings)[before:]
    assert len(logged) == len(corpus), "every refusal is audit-logged once"


def test_hostile_files_in_a_batch_do_not_cost_the_real_scans_their_answers(corpus):
    real = sample_files("glioma", 1) + sample_files("pituitary", 1)
    out = subprocess.run([*ENGINE, "classify", *map(str, corpus.values()), *map(str, real), "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    results = {r["file"].rsplit("/", 1)[-1]: r for r in json.loads(out.stdout)["results"]}
    assert all(results[name]["rejected"] for name in corpus)
    for scan in real:
        answer = results[scan.name]
        assert answer["label"] is not None or "does not look like" in answer["reason"], answer


@pytest.fixture(scope="module")
def artifacts_table():
    """The corpus as a table (input, answer, exit code, peak memory, time) in tests/artifacts/ for the README."""
    from tests.e2e.conftest import ARTIFACTS

    rows: list[dict] = []
    yield rows
    if rows:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "hostile-classify.json").write_text(json.dumps(rows, indent=1))


def test_other_modalities_in_dicom_are_refused_as_not_mri():
    from pydicom.data import get_testdata_file

    files = [get_testdata_file("CT_small.dcm"), get_testdata_file("JPEG2000.dcm")]  # a CT and a nuclear-medicine scan
    out = subprocess.run([*ENGINE, "classify", *files, "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr  # refused answers, not unreadable files
    reasons = [r["reason"] for r in json.loads(out.stdout)["results"]]
    assert all(r["rejected"] for r in json.loads(out.stdout)["results"])
    assert "a CT image (Modality CT), not an MRI" in reasons[0] and "nuclear-medicine" in reasons[1]
