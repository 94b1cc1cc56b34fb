"""Source discovery (folders and zips) and the duplicate audit on small frames."""

import zipfile

import pandas as pd

from engine.data import datasets, duplicates
from engine.data.ingest import discover
from tests.images import messy_tree, zip_tree


def test_discover_tree_sorts_files_and_junk(tmp_path):
    tree = messy_tree(tmp_path / "kaggle")
    found, rejected = discover(tree)
    assert len(found) == 10  # 7 valid + empty, truncated, text (rejected later, by decoding)
    splits = {(c.split, c.cls) for c in found}
    assert splits == {("train", "glioma"), ("train", "notumor"), ("test", "pituitary")}
    reasons = {r["path"]: r["reason"] for r in rejected}
    assert "hidden" in reasons["Training/.DS_Store"]
    assert "hidden" in reasons["Training/Glioma/.ipynb_checkpoints/copy-checkpoint.jpg"]
    assert "unknown class folder 'astrocytoma'" in reasons["Training/astrocytoma/x.jpg"]


def test_discover_zip_refuses_path_traversal(tmp_path):
    archive = zip_tree(messy_tree(tmp_path / "kaggle"), tmp_path / "k.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("../evil/glioma/x.jpg", b"data")
    found, rejected = discover(archive)
    assert len(found) == 10
    assert any("unsafe path" in r["reason"] for r in rejected)


def frame(rows):
    cols = {k: [] for k in datasets.MANIFEST_COLUMNS}
    for r in rows:
        for k in cols:
            cols[k].append(r.get(k))
    return pd.DataFrame(cols)


def row(path, sha, phash, split="train", cls="glioma"):
    return {"path": path, "sha256": sha, "phash": phash, "split": split, "class": cls, "bytes": 100}


H0 = "0" * 64
H_NEAR = "0" * 62 + "0f"  # 4 bits away from H0
H_FAR = "f" * 64


def test_audit_finds_exact_near_cross_split_and_conflicts():
    f = frame(
        [
            row("a", "s1", H0),
            row("b", "s1", H0),  # exact pair, same split and class
            row("c", "s2", H_NEAR, split="test"),  # near a/b, but in test: cross-split
            row("d", "s3", H_FAR, cls="pituitary"),
            row("e", "s3", H_FAR, cls="meningioma"),  # exact, conflicting labels
            row("f", "s4", "0f" * 32),  # unrelated
        ]
    )
    result = duplicates.audit_manifest(f, threshold=10)
    assert result["exact_groups"] == 2
    assert result["exact_duplicate_images"] == 2
    assert result["near_groups"] == 1
    assert result["cross_split"] == 1
    assert result["conflicting_labels"] == 1
    assert result["unique_images"] == 3
    assert result["pairs"][0]["class_a"] != result["pairs"][0]["class_b"]  # conflicts shown first


def test_duplicate_groups_share_ids():
    f = frame([row("a", "s1", H0), row("b", "s2", H_NEAR), row("c", "s3", H_FAR)])
    groups = duplicates.duplicate_groups(f, threshold=10)
    assert groups[0] == groups[1] != groups[2]


def test_small_files_report_counts_objects():
    f = frame([row(str(i), str(i), H0) for i in range(100)])
    r = datasets.small_files_report(f, block_size=1024 * 1024, packed_sizes=[10_000])
    assert r["raw_files"] == 100 and r["raw_blocks"] == 100
    assert r["packed_files"] == 1 and r["packed_blocks"] == 1
    assert r["objects_saved_ratio"] > 50


def test_audit_names_files_listed_as_not_brain_mri():
    from engine.data.not_brain_mri import listed_digests

    ct = sorted(listed_digests())[0]
    f = frame([row("x/Tr-no_1.jpg", ct, H0, cls="notumor"), row("x/Tr-no_2.jpg", ct, H0, cls="notumor"), row("x/Tr-gl_1.jpg", "s9", H_FAR)])
    found = duplicates.audit_manifest(f, threshold=10)["not_brain_mri"]
    assert found["images"] == 2 and found["distinct"] == 1 and found["per_class"]["notumor"] == 2
    assert found["paths"] == ["x/Tr-no_1.jpg", "x/Tr-no_2.jpg"]
    assert duplicates.audit_manifest(f.iloc[2:], threshold=10)["not_brain_mri"]["images"] == 0
