"""What `gpu_cv.py` and `gpu_torch_cv.py` share on a borrowed GPU: the exported scans, the command line, and the
(recipe, fold) jobs run as processes of their own, so many share the GPU, until a deadline leaves time to pack."""

from __future__ import annotations

import argparse
import lzma
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SHAPE = (5708, 128, 128, 1)  # what gpu_cv_export.py writes


def load_x(data: Path) -> np.ndarray:
    """The exported scans (uint8, n x 128 x 128 x 1), decompressed once into shared memory and mapped from there."""
    cache = Path("/dev/shm/cv-x.npy") if Path("/dev/shm").is_dir() else data / "x.npy"
    if not cache.exists():
        raw = lzma.decompress((data / "x-5708x128x128.u8.xz").read_bytes())
        np.save(cache, np.frombuffer(raw, np.uint8).reshape(SHAPE))
    return np.load(cache, mmap_mode="r")


def arguments(recipes: dict, deadline: float, workers: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--deadline", type=float, default=deadline)
    parser.add_argument("--workers", type=int, default=workers)
    parser.add_argument("--recipes", default=",".join(recipes))
    parser.add_argument("--folds", default="1,2,3,4,5")
    parser.add_argument("--epochs-cap", type=int, default=0, help="a smoke test: at most this many epochs, a few scans")
    parser.add_argument("--job", nargs=2, help="RECIPE FOLD: run one job in this process (the orchestrator's call)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.recipes, args.folds = args.recipes.split(","), [int(k) for k in args.folds.split(",")]
    return args


def run_jobs(script: str, args: argparse.Namespace, queue: list[tuple[str, int]], env: dict | None = None):
    """Run ``script --job RECIPE FOLD`` for each job of ``queue`` in order, ``args.workers`` at a time, each
    process's output into OUT/log.txt; at ``args.deadline`` seconds the running ones are killed and the rest left.
    Returns the log's ``say`` for the caller's summary."""
    start = time.monotonic()
    load_x(args.data)  # decompress once, before the workers
    log = open(args.out / "log.txt", "a")
    running: dict = {}
    done, failed = [], []

    def say(text: str) -> None:
        log.write(f"{time.monotonic() - start:7.1f}s {text}\n")
        log.flush()
        print(text, flush=True)

    say(f"{len(queue)} jobs, {args.workers} at a time, deadline {args.deadline:.0f} s")
    queue = list(queue)
    while queue or running:
        for job, proc in list(running.items()):
            if proc.poll() is not None:
                (done if proc.returncode == 0 else failed).append(job)
                say(f"{job} {'done' if proc.returncode == 0 else f'FAILED rc={proc.returncode}'}")
                del running[job]
        if time.monotonic() - start > args.deadline:
            for job, proc in running.items():
                proc.kill()
                say(f"{job} killed at the deadline")
            break
        while queue and len(running) < args.workers:
            job = queue.pop(0)
            cmd = [sys.executable, script, str(args.data), str(args.out), "--job", job[0], str(job[1]), "--epochs-cap", str(args.epochs_cap)]
            running[job] = subprocess.Popen(cmd, env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
        time.sleep(1)
    say(f"done {len(done)}, failed {len(failed)}, not started {len(queue)}")
    return say


def pack_results(work: Path, out: Path) -> None:
    """Every job's WORK/RECIPE/fold-K/result.npz into one OUT/results.npz, keyed RECIPE/fold-K/NAME."""
    arrays = {}
    for result in sorted(work.glob("*/fold-*/result.npz")):
        for key, value in np.load(result).items():
            arrays[f"{result.parent.parent.name}/{result.parent.name}/{key}"] = value
    np.savez_compressed(out / "results.npz", **arrays)
