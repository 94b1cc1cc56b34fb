"""Ingest under concurrency, cancel and kill, and against hostile sources: afterwards every dataset is complete
and its manifest matches its files, against the real HDFS."""

from __future__ import annotations

import io
import json
import shutil
import signal
import struct
import subprocess
import sys
import threading
import zipfile

import pyarrow.parquet as pq
import pytest

from engine.data import datasets, ingest_source
from engine.data.ingest import ingest_dataset
from engine.data.lock import lock_path
from engine.errors import InputError
from tests.conftest import wait_for
from tests.hostile import hostile_names_zip, many_entries_zip, zip_bomb
from tests.images import SAMPLE, sample_files

ENGINE = [sys.executable, "-m", "engine"]


@pytest.fixture
def dataset_name(storage, request):
    name = "t-" + request.node.name.replace("_", "-")[:50]
    yield name
    storage.delete(datasets.dataset_dir(name), recursive=True)
    storage.delete(lock_path(storage, name))


def copies(root, classes: tuple[str, ...], per_class: int):
    """A class-folder tree of ``per_class`` real scans per class (the sample's files under new names)."""
    for cls in classes:
        (root / cls).mkdir(parents=True, exist_ok=True)
        files = sample_files(cls, 10)
        for i in range(per_class):
            shutil.copy(files[i % len(files)], root / cls / f"{cls}-{i:04d}.jpg")
    return root


def assert_consistent(storage, name: str) -> list[str]:
    """The manifest names exactly the stored files, each with its size; packed parts hold exactly its rows;
    nothing of an unfinished ingest is left. Returns the manifest's paths."""
    manifest = datasets.read_manifest(storage, name)
    assert manifest["path"].is_unique
    stored = {}
    for split in storage.list(datasets.raw_dir(name)):
        for cls in storage.list(split["path"]):
            stored.update({e["path"]: e["length"] for e in storage.list(cls["path"])})
    assert set(stored) == set(manifest["path"])
    assert all(stored[p] == b for p, b in zip(manifest["path"], manifest["bytes"]))
    packed_paths = []
    for part in storage.list(datasets.packed_dir(name)):
        packed_paths += pq.read_table(io.BytesIO(storage.read(part["path"])), columns=["path"]).column("path").to_pylist()
    assert sorted(packed_paths) == sorted(manifest["path"])
    assert set(manifest["packed_file"]) == {p["path"] for p in storage.list(datasets.packed_dir(name))}
    leftovers = [e["name"] for e in storage.list(datasets.dataset_dir(name)) if e["name"].startswith((".staging", "manifest.parquet.tmp"))]
    assert not leftovers and not storage.exists(lock_path(storage, name))
    return list(manifest["path"])


def test_two_concurrent_ingests_of_overlapping_folders(storage, tmp_path, dataset_name):
    a = copies(tmp_path / "a", ("glioma", "meningioma"), 30)
    b = copies(tmp_path / "b", ("meningioma", "notumor"), 30)  # meningioma-0000..0029 in both
    procs = [
        subprocess.Popen([*ENGINE, "dataset", "ingest", str(src), "--name", dataset_name, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for src in (a, b)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [r[1] for r in results]
    stored = sorted(json.loads(out)["stored"] for out, _ in results)
    assert stored == [30, 60], "the second waited for the first, then stored only what was new"
    paths = assert_consistent(storage, dataset_name)
    assert len(paths) == 90


def _start_ingest(src, name):
    return subprocess.Popen([*ENGINE, "dataset", "ingest", str(src), "--name", name, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _staging_exists(storage, name) -> bool:
    folder = datasets.dataset_dir(name)
    return storage.exists(folder) and any(e["name"].startswith(".staging") for e in storage.list(folder))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_ingest_interrupted_midway_keeps_the_dataset_whole(storage, tmp_path, dataset_name, sig):
    ingest_dataset(storage, copies(tmp_path / "first", ("pituitary",), 10), dataset_name)
    before = datasets.read_manifest(storage, dataset_name)
    proc = _start_ingest(copies(tmp_path / "big", ("glioma", "meningioma", "notumor"), 120), dataset_name)
    wait_for(lambda: _staging_exists(storage, dataset_name) or proc.poll() is not None, 120, "the ingest to start uploading")
    assert proc.poll() is None, "the ingest finished before it could be interrupted"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    if sig == signal.SIGTERM:  # the rollback ran: the dataset is exactly as before, nothing left behind
        assert "rolled back" in err and "Traceback" not in err
        assert datasets.read_manifest(storage, dataset_name)["path"].tolist() == before["path"].tolist()
        assert_consistent(storage, dataset_name)
    # Killed or not, the next ingest clears any leftovers and completes the dataset.
    again = _start_ingest(tmp_path / "big", dataset_name)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert len(assert_consistent(storage, dataset_name)) == 10 + 360


def test_zip_bomb_and_huge_declared_sizes_are_refused_unread(storage, tmp_path, dataset_name):
    result = ingest_dataset(storage, zip_bomb(tmp_path / "bomb.zip", declared_mb=120), dataset_name)
    assert result["stored"] == 0 and "over the per-scan limit" in result["rejected"][0]["reason"]
    # A zip whose central directory declares 3 x 4 GiB: refused from the directory alone.
    archive = tmp_path / "declared.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(3):
            zf.writestr(f"glioma/{i}.jpg", b"x")
    data = bytearray(archive.read_bytes())
    at = 0
    while (at := data.find(b"PK\x01\x02", at)) != -1:
        data[at + 24 : at + 28] = struct.pack("<I", 0xFFFFFFF0)  # uncompressed size
        at += 4
    archive.write_bytes(bytes(data))
    with pytest.raises(InputError, match="GiB in all"):
        ingest_dataset(storage, archive, dataset_name)


def test_too_many_entries_are_refused(storage, tmp_path, dataset_name, monkeypatch):
    monkeypatch.setattr(ingest_source, "MAX_SOURCE_FILES", 50)
    with pytest.raises(InputError, match="over 50 files"):
        ingest_dataset(storage, many_entries_zip(tmp_path / "many.zip", 60), dataset_name)


def test_hostile_names_are_refused_or_stored_under_safe_names(storage, tmp_path, dataset_name):
    result = ingest_dataset(storage, hostile_names_zip(tmp_path / "names.zip"), dataset_name)
    reasons = {r["path"]: r["reason"] for r in result["rejected"]}
    assert "unsafe path" in reasons["../../escape/glioma/evil.jpg"]
    assert "unsafe path" in reasons["/abs/glioma/evil.jpg"]
    assert "symbolic link" in reasons["glioma/link.jpg"]
    assert result["stored"] == 3
    manifest = datasets.read_manifest(storage, dataset_name)
    for path, source in zip(manifest["path"], manifest["source"]):
        name = path.rsplit("/", 1)[-1]
        assert not any(c in name for c in ":#% "), name
        assert path.startswith(datasets.raw_dir(dataset_name) + "/train/glioma/")
        with zipfile.ZipFile(tmp_path / "names.zip") as zf:
            assert storage.read(path) == zf.read(source), "stored byte-identical under its safe name"
    assert_consistent(storage, dataset_name)
    assert not storage.exists(datasets.dataset_dir("escape"))


def test_symlinks_in_a_folder_are_not_followed(storage, tmp_path, dataset_name):
    root = copies(tmp_path / "tree", ("glioma",), 2)
    secret = tmp_path / "outside.jpg"
    shutil.copy(sample_files("meningioma", 1)[0], secret)
    (root / "glioma" / "link.jpg").symlink_to(secret)
    result = ingest_dataset(storage, root, dataset_name)
    assert result["stored"] == 2
    assert any(r["path"] == "glioma/link.jpg" and "symbolic link" in r["reason"] for r in result["rejected"])


def test_the_sample_ingests_whole(storage, dataset_name):
    result = ingest_dataset(storage, SAMPLE, dataset_name)
    assert result["stored"] == 40
    assert len(assert_consistent(storage, dataset_name)) == 40


def test_exactly_one_of_many_simultaneous_lock_takers_wins(storage, hdfs_root):
    import concurrent.futures as cf

    path = f"{hdfs_root}/race.lock"
    barrier = threading.Barrier(8)

    def take(i):
        barrier.wait()
        return storage.create_exclusive(path, f"{i}".encode())

    with cf.ThreadPoolExecutor(8) as pool:
        won = list(pool.map(take, range(8)))
    assert won.count(True) == 1
