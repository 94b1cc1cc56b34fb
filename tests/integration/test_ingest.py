"""Ingest into the real HDFS: junk listed with reasons, originals + manifest + packed copy, idempotent, all-or-nothing."""

import hashlib
import json
import subprocess
import sys

import pytest

from engine.data import datasets
from engine.data.ingest import ingest_dataset
from engine.data.lock import lock_path
from engine.errors import StorageError
from engine.spark.session import hdfs_uri
from tests.images import messy_tree, zip_tree


@pytest.fixture
def dataset_name(storage, request):
    name = f"t-{request.node.name[:40].replace('[', '-').replace(']', '')}".replace("_", "-")
    yield name
    storage.delete(datasets.dataset_dir(name), recursive=True)


def test_ingest_messy_tree(storage, tmp_path, dataset_name):
    tree = messy_tree(tmp_path / "kaggle")
    result = ingest_dataset(storage, tree, dataset_name)
    assert result["stored"] == 7 and result["duplicates_skipped"] == 0
    assert result["per_class"] == {"glioma": 3, "meningioma": 0, "notumor": 2, "pituitary": 2}
    reasons = {r["path"]: r["reason"] for r in result["rejected"]}
    assert len(reasons) == 7
    assert "empty" in reasons["Training/Glioma/empty.jpg"]
    assert "truncated" in reasons["Training/Glioma/truncated.jpg"]
    assert "not an image" in reasons["Training/no_tumor/notes.jpg"]
    assert "hidden" in reasons["Training/.DS_Store"]

    manifest = datasets.read_manifest(storage, dataset_name)
    assert len(manifest) == 7 and set(manifest["split"]) == {"train", "test"}
    row = manifest.iloc[0]
    assert storage.read(row["path"]).__len__() == row["bytes"]
    assert hashlib.sha256(storage.read(row["path"])).hexdigest() == row["sha256"]
    assert row["path"].startswith(f"{datasets.datasets_root()}/{dataset_name}/raw/")
    assert not [e for e in storage.list(datasets.dataset_dir(dataset_name)) if e["name"].startswith(".staging")]

    again = ingest_dataset(storage, tree, dataset_name)
    assert again["stored"] == 0 and again["duplicates_skipped"] == 7
    assert len(datasets.read_manifest(storage, dataset_name)) == 7


def test_packed_copy_is_read_by_spark(spark, storage, settings, tmp_path, dataset_name):
    ingest_dataset(storage, messy_tree(tmp_path / "kaggle"), dataset_name)
    packed = spark.read.parquet(hdfs_uri(settings, datasets.packed_dir(dataset_name))).toPandas()
    manifest = datasets.read_manifest(storage, dataset_name).set_index("path")
    assert len(packed) == 7
    for _, r in packed.iterrows():
        assert hashlib.sha256(r["content"]).hexdigest() == manifest.loc[r["path"], "sha256"]


def test_zip_ingest_through_the_cli_json(storage, tmp_path, dataset_name):
    archive = zip_tree(messy_tree(tmp_path / "kaggle"), tmp_path / "kaggle.zip")
    done = subprocess.run(
        [sys.executable, "-m", "engine", "dataset", "ingest", str(archive), "--name", dataset_name, "--json"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) >= {"dataset", "stored", "duplicates_skipped", "rejected", "per_class"}
    assert result["stored"] == 7 and all(set(r) == {"path", "reason"} for r in result["rejected"])
    audit = json.loads(
        subprocess.run(
            [sys.executable, "-m", "engine", "dataset", "audit", dataset_name, "--json"], capture_output=True, text=True, timeout=300, check=True
        ).stdout
    )
    assert set(audit) >= {"exact_groups", "near_groups", "cross_split", "conflicting_labels", "not_brain_mri"}
    # kept where the Dataset page reads it (it once wrote another name, and the page never showed an audit)
    assert json.loads(storage.read(datasets.audit_path(dataset_name))) == audit


def test_failed_ingest_leaves_nothing(storage, tmp_path, dataset_name, monkeypatch):
    # The commit point (the manifest swap) fails after every file was moved into place.
    def refuse(*_args):
        raise StorageError("Cannot replace the manifest: the NameNode refused the rename.")

    monkeypatch.setattr(datasets, "replace_file", refuse)
    with pytest.raises(StorageError, match="rolled back"):
        ingest_dataset(storage, messy_tree(tmp_path / "kaggle"), dataset_name)
    assert not storage.exists(datasets.dataset_dir(dataset_name)), "a new dataset that failed leaves no folder at all"
    assert not storage.exists(lock_path(storage, dataset_name)), "the lock is released"


def test_bad_source_is_bad_input(storage, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "engine", "dataset", "ingest", str(tmp_path / "nope"), "--name", "x"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and "does not exist" in done.stderr
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 not really")
    done = subprocess.run(
        [sys.executable, "-m", "engine", "dataset", "ingest", str(tmp_path / "bad.zip"), "--name", "x"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and "zip" in done.stderr
