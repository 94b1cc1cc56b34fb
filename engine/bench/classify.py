"""Benchmarks of the clinician's path: refusal of non-MRI images, and speed (warm, cold, batch)."""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import time

import numpy as np
from PIL import Image, ImageDraw

from engine.hdfs.storage import Storage
from engine.png import png_bytes
from engine.settings import REPO_ROOT, Settings


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def non_mri_images(seed: int = 0) -> list[tuple[str, bytes]]:
    """Images that are not brain MRI slices: real photos (scikit-learn's bundled ones) in colour and grey, crops
    and rotations of them, pydicom's non-MR DICOM samples (CT, secondary capture), noise, blanks, gradients,
    checkerboards, text and shapes."""
    from pydicom.data import get_testdata_file
    from sklearn.datasets import load_sample_images

    rng = np.random.default_rng(seed)
    out: list[tuple[str, bytes]] = []
    for k, arr in enumerate(load_sample_images().images):
        photo = Image.fromarray(arr)
        for j in range(12):
            w, h = photo.size
            s = int(rng.integers(min(w, h) // 3, min(w, h)))
            x, y = int(rng.integers(0, w - s)), int(rng.integers(0, h - s))
            crop = photo.crop((x, y, x + s, y + s)).rotate(float(rng.uniform(-30, 30))).resize((224, 224))
            out.append((f"photo{k}-{j}-colour.jpg", _jpeg(crop)))
            out.append((f"photo{k}-{j}-grey.jpg", _jpeg(crop.convert("L"))))
    for name in ("CT_small.dcm", "SC_rgb.dcm", "SC_rgb_small_odd.dcm", "JPEG-lossy.dcm"):
        try:
            out.append((name, open(get_testdata_file(name), "rb").read()))
        except (OSError, TypeError):
            continue
    for j in range(10):
        out.append((f"noise-uniform-{j}.png", png_bytes(Image.fromarray(rng.integers(0, 256, (224, 224), dtype=np.uint8)))))
        out.append((f"noise-gauss-{j}.png", png_bytes(Image.fromarray(np.clip(rng.normal(120, 40, (224, 224)), 0, 255).astype(np.uint8)))))
    for level in (0, 30, 128, 255):
        out.append((f"blank-{level}.png", png_bytes(Image.new("L", (224, 224), level))))
    for j in range(6):
        g = np.tile(np.linspace(0, 255, 224, dtype=np.float32), (224, 1))
        out.append((f"gradient-{j}.png", png_bytes(Image.fromarray(np.rot90(g, j % 4).astype(np.uint8)))))
        c = (np.indices((224, 224)).sum(axis=0) // (8 + 4 * j)) % 2 * 255
        out.append((f"checker-{j}.png", png_bytes(Image.fromarray(c.astype(np.uint8)))))
        img = Image.new("L", (224, 224), 255)
        draw = ImageDraw.Draw(img)
        for line in range(12):
            draw.text((8, 8 + 17 * line), f"Lorem ipsum dolor {j}-{line} sit amet", fill=0)
        out.append((f"text-{j}.png", png_bytes(img)))
        img = Image.new("L", (224, 224), int(rng.integers(0, 60)))
        draw = ImageDraw.Draw(img)
        for _ in range(8):
            x0, y0 = rng.integers(0, 180, 2)
            draw.ellipse([int(x0), int(y0), int(x0 + rng.integers(20, 80)), int(y0 + rng.integers(20, 80))], fill=int(rng.integers(80, 255)))
        out.append((f"shapes-{j}.png", png_bytes(img)))
    return out


def non_mri_kind(name: str) -> str:
    if name.endswith(".dcm"):
        return "dicom-not-mr"
    if name.startswith("photo"):
        return "photo-grey" if "grey" in name else "photo-colour"
    return name.split("-")[0]


def benchmark_speed(settings: Settings, storage: Storage, model_id: str | None = None, repeats: int = 100) -> dict:
    """Warm single-scan latency (p50/p95, classification + Grad-CAM), a batch of 100, and cold start in a new process."""
    from engine.clinic.classify import Classifier
    from engine.ml.inference import load_model

    sample = sorted((REPO_ROOT / "assets" / "sample").rglob("*.jpg"))
    clf = Classifier(load_model(settings, storage, model_id))
    scans = [(p.name, p.read_bytes()) for p in sample]
    clf.classify(scans[:2])  # warm
    single = []
    for i in range(repeats):
        t0 = time.perf_counter()
        clf.classify([scans[i % len(scans)]])
        single.append(time.perf_counter() - t0)
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
    ms = sorted(t * 1000 for t in single)
    return {
        "model": clf.model_id,
        "repeats": repeats,
        "single_ms_p50": round(statistics.median(ms), 1),
        "single_ms_p95": round(ms[int(0.95 * (len(ms) - 1))], 1),
        "batch_100_s": round(batch_s, 2),
        "cold_start_s": round(float(out.stdout.strip().splitlines()[-1]), 2),
        "cold_start_with_interpreter_s": round(cold_total, 2),
    }
