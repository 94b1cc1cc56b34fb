"""Benchmark of the clinician's path: speed (warm, cold, batch); refusals are `engine.bench.refusal`'s."""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import time

from engine.hdfs.storage import Storage
from engine.settings import REPO_ROOT, Settings


def benchmark_speed(settings: Settings, storage: Storage, model_id: str | None = None, repeats: int = 100) -> dict:
    """Warm single-scan latency (p50/p95, classification + Grad-CAM), a batch of 100, and cold start in a new process."""
    from engine.clinic.classify import Classifier
    from engine.ml.inference import load_model

    sample = sorted((REPO_ROOT / "assets" / "sample").rglob("*.jpg"))
    clf = Classifier(load_model(settings, storage, model_id))
    scans = [(p.name, p.read_bytes()) for p in sample]
    clf.classify(scans[:2])  # warm
    ms, _ = _latencies(clf, scans, repeats)
    dark = [(name, _darkened(content)) for name, content in scans]  # read twice: as uploaded and lifted
    dark_ms, dark_answers = _latencies(clf, dark, max(20, repeats // 2))
    read_twice = sum(a.brightened for a in dark_answers) / len(dark_answers)
    batch = (scans * 3)[:100]
    t0 = time.perf_counter()
    clf.classify(batch)
    batch_s = time.perf_counter() - t0
    code = (
        "import time; t0=time.perf_counter(); from engine.settings import get_settings; from engine.hdfs.storage import Storage; "
        "from engine.ml.inference import load_model; from engine.clinic.classify import Classifier; import sys; "
        f"c=Classifier(load_model(get_settings(), Storage(get_settings()), {model_id!r})); "
        f"c.classify([('x', open({str(sample[0])!r}, 'rb').read())]); print(time.perf_counter()-t0)"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO_ROOT, check=True)
    cold_total = time.perf_counter() - t0
    return {
        "model": clf.model_id,
        "repeats": repeats,
        "single_ms_p50": ms[0],
        "single_ms_p95": ms[1],
        "dark_single_ms_p50": dark_ms[0],
        "dark_single_ms_p95": dark_ms[1],
        "dark_read_twice_share": round(read_twice, 3),
        "batch_100_s": round(batch_s, 2),
        "cold_start_s": round(float(out.stdout.strip().splitlines()[-1]), 2),
        "cold_start_with_interpreter_s": round(cold_total, 2),
    }


def _latencies(clf, scans: list[tuple[str, bytes]], repeats: int) -> tuple[tuple[float, float], list]:
    """(p50, p95) in ms of answering one scan at a time, cycling through ``scans``, and the answers."""
    single, answers = [], []
    for i in range(repeats):
        t0 = time.perf_counter()
        answers += clf.classify([scans[i % len(scans)]])
        single.append(time.perf_counter() - t0)
    ms = sorted(t * 1000 for t in single)
    return (round(statistics.median(ms), 1), round(ms[int(0.95 * (len(ms) - 1))], 1)), answers


def _darkened(content: bytes) -> bytes:
    """The scan as a much darker screenshot (gamma 2): what makes the clinic read it a second time, lifted."""
    from PIL import Image

    from engine.data.shifts import gamma_png

    return gamma_png(Image.open(io.BytesIO(content)).convert("L"), 2.0)
