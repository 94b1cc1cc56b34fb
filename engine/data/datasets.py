"""Datasets in HDFS: the layout under /mri/datasets/<name>/, the manifest, and listing.

Layout (see DESIGN.md)::

    /mri/datasets/<name>/raw/<split>/<class>/<file>   original bytes
    /mri/datasets/<name>/manifest.parquet             one row per image
    /mri/datasets/<name>/packed/part-*.parquet        raw bytes packed into a few large files
"""

from __future__ import annotations

import io
import posixpath
import re
import secrets

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine.classes import CLASSES
from engine.errors import InputError, NotFoundError
from engine.hdfs.storage import Storage
from engine.settings import get_settings


def datasets_root() -> str:
    """``<MRI_HDFS_ROOT>/datasets``: every dataset's folder is under it."""
    return get_settings().hdfs_path("datasets")


NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

MANIFEST_COLUMNS = {
    "path": pa.string(),  # HDFS path of the raw file
    "source": pa.string(),  # path inside the ingested folder or zip (no absolute paths)
    "split": pa.string(),
    "class": pa.string(),
    "bytes": pa.int64(),
    "sha256": pa.string(),
    "width": pa.int32(),
    "height": pa.int32(),
    "mode": pa.string(),
    "format": pa.string(),
    "phash": pa.string(),
    "packed_file": pa.string(),  # HDFS path of the packed Parquet file holding its bytes
    "ingested_at": pa.timestamp("s"),
}
MANIFEST_SCHEMA = pa.schema(list(MANIFEST_COLUMNS.items()))


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name or ""):
        raise InputError(f"Dataset name {name!r} is not allowed; use up to 64 letters, digits, '-' or '_', e.g. 'kaggle-train'.")
    return name


def dataset_dir(name: str) -> str:
    return f"{datasets_root()}/{check_name(name)}"


def audit_path(name: str) -> str:
    """The cached result of `dataset audit` (docs/pipeline.md's layout): written by the audit job, read by the Dataset page."""
    return f"{dataset_dir(name)}/audit.json"


def manifest_path(name: str) -> str:
    return f"{dataset_dir(name)}/manifest.parquet"


def raw_dir(name: str) -> str:
    return f"{dataset_dir(name)}/raw"


def packed_dir(name: str) -> str:
    return f"{dataset_dir(name)}/packed"


def empty_manifest() -> pd.DataFrame:
    return MANIFEST_SCHEMA.empty_table().to_pandas()


def read_manifest(storage: Storage, name: str, strict: bool = True) -> pd.DataFrame:
    """The dataset's manifest; an empty frame when absent and ``strict`` is False.

    Raises:
        NotFoundError: the dataset has no manifest and ``strict`` is True.
    """
    path = manifest_path(name)
    if not storage.exists(path):
        if strict:
            raise NotFoundError(f"There is no dataset {name!r}; `python -m engine dataset list` shows what is in HDFS.")
        return empty_manifest()
    return pq.read_table(io.BytesIO(storage.read(path))).to_pandas()


def manifest_bytes(frame: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(frame[list(MANIFEST_COLUMNS)], schema=MANIFEST_SCHEMA, preserve_index=False)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def replace_file(storage: Storage, hdfs_path: str, data: bytes) -> None:
    """Write ``data`` beside ``hdfs_path`` under a name of its own, then rename it over the old file in one
    NameNode operation: readers see the old file or the new one, never none or half of one."""
    tmp = f"{hdfs_path}.tmp-{secrets.token_hex(6)}"
    storage.write(tmp, data)
    try:
        storage.replace(tmp, hdfs_path)
    except BaseException:
        storage.delete(tmp)
        raise


def summarize(frame: pd.DataFrame) -> dict:
    """Counts per class and split, in the canonical class order."""
    per_class = {c: int((frame["class"] == c).sum()) for c in CLASSES}
    per_split = {s: int(n) for s, n in frame["split"].value_counts().sort_index().items()}
    return {"images": int(len(frame)), "bytes": int(frame["bytes"].sum()) if len(frame) else 0, "per_class": per_class, "per_split": per_split}


def list_datasets(storage: Storage) -> list[dict]:
    """Every dataset under /mri/datasets with its counts."""
    root = datasets_root()
    if not storage.exists(root):
        return []
    found = []
    for entry in storage.list(root):
        if entry["type"] != "directory" or not NAME_PATTERN.match(entry["name"]):
            continue
        frame = read_manifest(storage, entry["name"], strict=False)
        found.append({"name": entry["name"], "path": entry["path"], **summarize(frame)})
    return found


def thumbnail_paths(frame: pd.DataFrame, per_class: int = 6, seed: int = 0) -> dict[str, list[str]]:
    """A fixed random sample of raw paths per class (for the sample grid)."""
    out = {}
    for cls in CLASSES:
        rows = frame[frame["class"] == cls]
        out[cls] = rows.sample(n=min(per_class, len(rows)), random_state=seed)["path"].tolist() if len(rows) else []
    return out


def relative_raw_path(split: str, cls: str, filename: str) -> str:
    return posixpath.join(split, cls, filename)


NAMENODE_BYTES_PER_OBJECT = 150  # rule of thumb: each file, folder and block costs ~150 B of NameNode heap


def small_files_report(frame: pd.DataFrame, block_size: int, packed_sizes: list[int]) -> dict:
    """What storing each scan as its own file costs the NameNode, against the packed copy.

    Args:
        frame: the manifest (one row per raw file).
        block_size: HDFS block size in bytes.
        packed_sizes: byte sizes of the packed Parquet files.
    """
    raw_files = int(len(frame))
    raw_dirs = int(frame.groupby(["split", "class"]).ngroups) + 1 if raw_files else 0
    raw_blocks = int(sum(max(1, -(-int(b) // block_size)) for b in frame["bytes"])) if raw_files else 0
    packed_blocks = int(sum(max(1, -(-s // block_size)) for s in packed_sizes))
    raw_objects = raw_files + raw_blocks + raw_dirs
    packed_objects = len(packed_sizes) + packed_blocks + 1
    return {
        "raw_files": raw_files,
        "raw_blocks": raw_blocks,
        "average_file_bytes": float(frame["bytes"].mean()) if raw_files else 0.0,
        "block_size": block_size,
        "average_fill_of_a_block": float(frame["bytes"].mean() / block_size) if raw_files else 0.0,
        "raw_namenode_objects": raw_objects,
        "packed_files": len(packed_sizes),
        "packed_blocks": packed_blocks,
        "packed_namenode_objects": packed_objects,
        "namenode_heap_raw_bytes": raw_objects * NAMENODE_BYTES_PER_OBJECT,
        "namenode_heap_packed_bytes": packed_objects * NAMENODE_BYTES_PER_OBJECT,
        "objects_saved_ratio": raw_objects / packed_objects if packed_objects else None,
    }
